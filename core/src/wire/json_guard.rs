//! Depth check before JSON parsing.
//!
//! `serde-json-core` recurses when it skips values it does not know, about
//! 32 bytes of stack per level: a hostile body nested 10,000 deep would
//! overflow a firmware stack. [`check_depth`] scans the bytes once, with no
//! recursion, and refuses bodies nested deeper than the limit, so every JSON
//! parse in the core is preceded by it.

/// The JSON is nested deeper than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TooDeep;

/// Check that brackets outside strings never nest deeper than `max`.
///
/// Only nesting is checked; syntax is left to the parser.
pub fn check_depth(json: &[u8], max: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_only() {
        assert_eq!(check_depth(br#"{"a":[{"b":1}]}"#, 3), Ok(()));
        assert_eq!(check_depth(br#"{"a":[{"b":1}]}"#, 2), Err(TooDeep));
        assert_eq!(check_depth(br#"{"a":"[[[[[\"[[["}"#, 1), Ok(()));
    }

    #[test]
    fn ten_thousand_levels_are_refused_without_recursion() {
        let deep = [b'['; 10_000];
        assert_eq!(check_depth(&deep, 16), Err(TooDeep));
    }
}
