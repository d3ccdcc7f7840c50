//! Where each CTranslate2 Whisper variable goes in a ggml (openai-whisper-named) model.
//!
//! Input: a CTranslate2 variable name such as `encoder/layer_3/self_attention/linear_0/weight`.
//! Output: the ggml tensors it becomes, each as (name, which equal slice of the first dimension).
//! CTranslate2 fuses projections that openai-whisper keeps apart: self-attention `linear_0` is
//! q,k,v stacked by rows, cross-attention `linear_1` is k,v. The key projections carry no bias in
//! openai-whisper (a per-key constant cancels in the softmax), and whisper.cpp rejects a file that
//! has one, so that slice of the fused bias is dropped.

/// One ggml tensor made from (a slice of) a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// Index of the slice along the first dimension, of `parts` equal slices.
    pub part: usize,
    pub parts: usize,
}

/// What to do with a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Becomes these ggml tensors.
    Tensors(Vec<Target>),
    /// Configuration or a tied weight whisper.cpp does not store.
    Skip,
}

fn whole(name: impl Into<String>) -> Vec<Target> {
    vec![Target {
        name: name.into(),
        part: 0,
        parts: 1,
    }]
}

fn slices(prefix: &str, parts: usize, picks: &[(usize, &str)]) -> Vec<Target> {
    picks
        .iter()
        .map(|&(part, name)| Target {
            name: format!("{prefix}{name}"),
            part,
            parts,
        })
        .collect()
}

/// `gamma`/`beta` → `weight`/`bias`; `weight`/`bias` pass through.
fn param(leaf: &str) -> Option<&'static str> {
    match leaf {
        "gamma" | "weight" => Some("weight"),
        "beta" | "bias" => Some("bias"),
        _ => None,
    }
}

fn map_layer(block: &str, rest: &str) -> Option<Vec<Target>> {
    let (module, leaf) = rest.rsplit_once('/')?;
    let p = param(leaf)?;
    let plain = |ggml: &str| Some(whole(format!("{block}{ggml}.{p}")));
    match module {
        "self_attention/layer_norm" => plain("attn_ln"),
        "self_attention/linear_0" if p == "weight" => Some(slices(
            block,
            3,
            &[
                (0, "attn.query.weight"),
                (1, "attn.key.weight"),
                (2, "attn.value.weight"),
            ],
        )),
        "self_attention/linear_0" => Some(slices(
            block,
            3,
            &[(0, "attn.query.bias"), (2, "attn.value.bias")],
        )),
        "self_attention/linear_1" => plain("attn.out"),
        "attention/layer_norm" => plain("cross_attn_ln"),
        "attention/linear_0" => plain("cross_attn.query"),
        "attention/linear_1" if p == "weight" => Some(slices(
            block,
            2,
            &[(0, "cross_attn.key.weight"), (1, "cross_attn.value.weight")],
        )),
        "attention/linear_1" => Some(slices(block, 2, &[(1, "cross_attn.value.bias")])),
        "attention/linear_2" => plain("cross_attn.out"),
        "ffn/layer_norm" => plain("mlp_ln"),
        "ffn/linear_0" => plain("mlp.0"),
        "ffn/linear_1" => plain("mlp.2"),
        _ => None,
    }
}

/// Maps one CTranslate2 variable; `None` for a name this converter does not know.
pub fn map_variable(name: &str) -> Option<Mapping> {
    let (side, rest) = name.split_once('/')?;
    if side != "encoder" && side != "decoder" {
        return None;
    }
    if let Some(after) = rest.strip_prefix("layer_") {
        if let Some((index, sub)) = after.split_once('/') {
            if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
                let block = format!("{side}.blocks.{index}.");
                return map_layer(&block, sub).map(Mapping::Tensors);
            }
        }
    }
    let tensors = match (side, rest) {
        ("encoder", "conv1/weight") => whole("encoder.conv1.weight"),
        ("encoder", "conv1/bias") => whole("encoder.conv1.bias"),
        ("encoder", "conv2/weight") => whole("encoder.conv2.weight"),
        ("encoder", "conv2/bias") => whole("encoder.conv2.bias"),
        ("encoder", "position_encodings/encodings") => whole("encoder.positional_embedding"),
        ("encoder", "layer_norm/gamma") => whole("encoder.ln_post.weight"),
        ("encoder", "layer_norm/beta") => whole("encoder.ln_post.bias"),
        ("decoder", "embeddings/weight") => whole("decoder.token_embedding.weight"),
        ("decoder", "position_encodings/encodings") => whole("decoder.positional_embedding"),
        ("decoder", "layer_norm/gamma") => whole("decoder.ln.weight"),
        ("decoder", "layer_norm/beta") => whole("decoder.ln.bias"),
        // whisper.cpp ties the output projection to the token embedding.
        ("decoder", "projection/weight") => return Some(Mapping::Skip),
        _ => return None,
    };
    Some(Mapping::Tensors(tensors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, part: usize, parts: usize) -> Target {
        Target {
            name: name.to_string(),
            part,
            parts,
        }
    }

    #[test]
    fn maps_every_kind_of_variable() {
        let cases: Vec<(&str, Vec<Target>)> = vec![
            (
                "encoder/conv1/weight",
                vec![t("encoder.conv1.weight", 0, 1)],
            ),
            ("encoder/conv2/bias", vec![t("encoder.conv2.bias", 0, 1)]),
            (
                "encoder/position_encodings/encodings",
                vec![t("encoder.positional_embedding", 0, 1)],
            ),
            (
                "encoder/layer_norm/gamma",
                vec![t("encoder.ln_post.weight", 0, 1)],
            ),
            ("decoder/layer_norm/beta", vec![t("decoder.ln.bias", 0, 1)]),
            (
                "decoder/embeddings/weight",
                vec![t("decoder.token_embedding.weight", 0, 1)],
            ),
            (
                "encoder/layer_0/self_attention/linear_0/weight",
                vec![
                    t("encoder.blocks.0.attn.query.weight", 0, 3),
                    t("encoder.blocks.0.attn.key.weight", 1, 3),
                    t("encoder.blocks.0.attn.value.weight", 2, 3),
                ],
            ),
            (
                "encoder/layer_11/self_attention/linear_0/bias",
                vec![
                    t("encoder.blocks.11.attn.query.bias", 0, 3),
                    t("encoder.blocks.11.attn.value.bias", 2, 3),
                ],
            ),
            (
                "decoder/layer_2/self_attention/layer_norm/gamma",
                vec![t("decoder.blocks.2.attn_ln.weight", 0, 1)],
            ),
            (
                "decoder/layer_2/attention/layer_norm/beta",
                vec![t("decoder.blocks.2.cross_attn_ln.bias", 0, 1)],
            ),
            (
                "decoder/layer_1/attention/linear_0/weight",
                vec![t("decoder.blocks.1.cross_attn.query.weight", 0, 1)],
            ),
            (
                "decoder/layer_1/attention/linear_1/weight",
                vec![
                    t("decoder.blocks.1.cross_attn.key.weight", 0, 2),
                    t("decoder.blocks.1.cross_attn.value.weight", 1, 2),
                ],
            ),
            (
                "decoder/layer_1/attention/linear_1/bias",
                vec![t("decoder.blocks.1.cross_attn.value.bias", 1, 2)],
            ),
            (
                "decoder/layer_1/attention/linear_2/bias",
                vec![t("decoder.blocks.1.cross_attn.out.bias", 0, 1)],
            ),
            (
                "decoder/layer_3/self_attention/linear_1/weight",
                vec![t("decoder.blocks.3.attn.out.weight", 0, 1)],
            ),
            (
                "encoder/layer_0/ffn/layer_norm/gamma",
                vec![t("encoder.blocks.0.mlp_ln.weight", 0, 1)],
            ),
            (
                "encoder/layer_0/ffn/linear_0/weight",
                vec![t("encoder.blocks.0.mlp.0.weight", 0, 1)],
            ),
            (
                "encoder/layer_0/ffn/linear_1/bias",
                vec![t("encoder.blocks.0.mlp.2.bias", 0, 1)],
            ),
        ];
        for (ct2, expected) in cases {
            assert_eq!(map_variable(ct2), Some(Mapping::Tensors(expected)), "{ct2}");
        }
    }

    #[test]
    fn skips_tied_projection_and_rejects_unknown_names() {
        assert_eq!(
            map_variable("decoder/projection/weight"),
            Some(Mapping::Skip)
        );
        for unknown in [
            "encoder/layer_x/ffn/linear_0/weight",
            "encoder/layer_0/ffn/linear_9/weight",
            "encoder/layer_0/ffn/linear_0/weight_scale",
            "lm_head/weight",
            "encoder",
        ] {
            assert_eq!(map_variable(unknown), None, "{unknown}");
        }
    }
}
