//! Paging of `GET /alerts`: the alerts after a cursor in → at most one page of them, and the
//! `Link` header (RFC 8288, `rel="next"`) that fetches the next page when there is one.
//!
//! Alerts come ordered by event id, which never changes and is never reused, so `after=ID`
//! is a stable cursor: a page fetched later holds the same alerts, plus newer ones at the end.

use url::form_urlencoded;

/// Alerts per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// Most alerts per page.
pub const MAX_LIMIT: usize = 1000;

/// The filters that must carry over to the next page's URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters<'a> {
    pub stream: Option<&'a str>,
    pub category: Option<&'a str>,
    /// Review states, comma-separated.
    pub review: Option<&'a str>,
}

/// Checks a requested page size: `None` → the default.
pub fn limit(requested: Option<usize>) -> Result<usize, String> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(format!("limit {n}: use 1 to {MAX_LIMIT}")),
    }
}

/// Cuts `items` (ids ascending) to `limit`; when more remain, also the `Link` value for the
/// next page, after the last id on this one.
pub fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    id: impl Fn(&T) -> u64,
    path: &str,
    filters: &Filters,
) -> (Vec<T>, Option<String>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let last = items.last().map_or(0, id);
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(stream) = filters.stream {
        query.append_pair("stream", stream);
    }
    if let Some(category) = filters.category {
        query.append_pair("category", category);
    }
    if let Some(review) = filters.review {
        query.append_pair("review", review);
    }
    query.append_pair("after", &last.to_string());
    query.append_pair("limit", &limit.to_string());
    let link = format!("<{path}?{}>; rel=\"next\"", query.finish());
    (items, Some(link))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        // (requested, accepted limit or error words)
        let cases = [
            (None, Ok(100)),
            (Some(1), Ok(1)),
            (Some(1000), Ok(1000)),
            (Some(0), Err("limit 0: use 1 to 1000")),
            (Some(1001), Err("limit 1001: use 1 to 1000")),
        ];
        for (requested, want) in cases {
            assert_eq!(
                limit(requested),
                want.map_err(String::from),
                "{requested:?}"
            );
        }
    }

    #[test]
    fn pages_and_next_links() {
        let ids: Vec<u64> = vec![3, 5, 8, 13];
        let shop = Filters {
            stream: Some("shop-1"),
            category: Some("false_origin"),
            review: Some("new,acknowledged"),
        };
        // (limit, filters, page, Link)
        let cases = [
            (4, Filters::default(), vec![3, 5, 8, 13], None),
            (10, Filters::default(), vec![3, 5, 8, 13], None),
            (
                3,
                Filters::default(),
                vec![3, 5, 8],
                Some("</alerts?after=8&limit=3>; rel=\"next\""),
            ),
            (
                1,
                shop.clone(),
                vec![3],
                Some("</alerts?stream=shop-1&category=false_origin&review=new%2Cacknowledged&after=3&limit=1>; rel=\"next\""),
            ),
        ];
        for (limit, filters, want, link) in cases {
            let got = page(ids.clone(), limit, |id| *id, "/alerts", &filters);
            assert_eq!(got, (want, link.map(String::from)), "limit {limit}");
        }
    }
}
