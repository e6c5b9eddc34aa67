//! Loading YAML from untrusted places (feeds from a mirror, lockfiles in an image) with a
//! safety pass before `yaml_rust2`'s loader sees it. The loader expands every alias as a full copy, so a
//! few hundred bytes of nested aliases take all memory, and dropping what it loaded recurses
//! once per nesting level, so deep nesting overflows the stack (an abort, not a panic). The
//! event parser is iterative: running it once, refusing aliases (no feed or lockfile we read
//! uses them) and nesting beyond `max_depth`, is safe on any input.
use yaml_rust2::{Event, Yaml, YamlLoader};

/// Loads every document of `text` after [`check_untrusted`]; the error says what and where.
pub fn load_untrusted(text: &str, max_depth: usize) -> Result<Vec<Yaml>, String> {
    check_untrusted(text, max_depth)?;
    YamlLoader::load_from_str(text).map_err(|e| e.to_string())
}

/// Checks `text` as described in the module documentation; the error says what and where.
fn check_untrusted(text: &str, max_depth: usize) -> Result<(), String> {
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => {
                return Err(format!("YAML alias at line {}: not accepted", mark.line()));
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > max_depth {
                    return Err(format!(
                        "YAML nesting deeper than {max_depth} levels at line {}",
                        mark.line()
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_deep_nesting_are_refused() {
        assert!(check_untrusted("a: [1, {b: c}]\nd: e\n", 3).is_ok());
        assert!(check_untrusted("a: [1, {b: [c]}]\n", 3).is_err());
        let err = check_untrusted("a: &x [1]\nb: *x\n", 64).unwrap_err();
        assert!(err.contains("alias"), "{err}");
        let deep = format!("x:\n{}1\n", "- ".repeat(100_000));
        let err = check_untrusted(&deep, 64).unwrap_err();
        assert!(err.contains("nesting"), "{err}");
        assert!(check_untrusted("a: [unclosed", 64).is_err());
    }
}
