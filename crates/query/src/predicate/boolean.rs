//! Booleans (StackRox `bool_query.go` over `parse.FriendlyParseBool`): Go's `ParseBool` forms
//! (`1`, `t`, `T`, `TRUE`, `true`, `True` and the false ones), else any case-insensitive prefix
//! of `true` or `false`. No modifiers.

use crate::lexer::Modified;

pub(crate) fn compile(m: &Modified) -> Result<bool, String> {
    if m.has_any() {
        return Err("modifiers (`!`, `r/`, quotes) are not supported for booleans".into());
    }
    let v = m.value.as_str();
    match v {
        "" => Err("an empty value is neither true nor false".into()),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => {
            let lower = v.to_lowercase();
            if "true".starts_with(&lower) {
                Ok(true)
            } else if "false".starts_with(&lower) {
                Ok(false)
            } else {
                Err(format!("{v:?} is neither true nor false"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::modifiers;

    #[test]
    fn friendly_booleans() {
        for (v, want) in [
            ("true", true),
            ("TR", true),
            ("t", true),
            ("1", true),
            ("fAl", false),
            ("0", false),
            ("F", false),
        ] {
            assert_eq!(compile(&modifiers(v)), Ok(want), "{v}");
        }
        for v in ["", "yes", "2", "truee", "!true", "\"true\"", "r/t"] {
            assert!(compile(&modifiers(v)).is_err(), "{v}");
        }
    }
}
