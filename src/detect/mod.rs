//! Claims detector (issue 3).
