//! An upload's part objects: their names (`<offset as 20 digits>`, so the names sort as the
//! offsets do) and which of them make the upload's bytes.
use object_store::path::Path;

const DIGITS: usize = 20;

/// The name of the part that starts at `offset`.
pub(super) fn part_name(offset: u64) -> String {
    format!("{offset:0DIGITS$}")
}

/// The offset a part's name stands for, if `segment` is a part name.
pub(super) fn part_offset(segment: &str) -> Option<u64> {
    if segment.len() != DIGITS || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

/// One part object of an upload.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) offset: u64,
    pub(super) size: u64,
    /// Unix milliseconds.
    pub(super) modified: i64,
    pub(super) path: Path,
}

impl Part {
    pub(super) fn end(&self) -> u64 {
        self.offset + self.size
    }
}

/// The parts that make the upload's bytes: sorted, from offset 0 up to the first gap or overlap.
/// Appends write at the end and truncation deletes from the end, so there is no gap unless a
/// request was lost midway; what lies past one is not the upload's (deleted with it).
pub(super) fn contiguous(mut parts: Vec<Part>) -> Vec<Part> {
    parts.sort_by_key(|p| p.offset);
    let mut end = 0;
    let mut run = Vec::with_capacity(parts.len());
    for part in parts {
        if part.offset != end {
            break;
        }
        end = part.end();
        run.push(part);
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(offset: u64, size: u64) -> Part {
        Part {
            offset,
            size,
            modified: 0,
            path: Path::from(part_name(offset)),
        }
    }

    #[test]
    fn names_sort_as_offsets_and_parse_back() {
        assert_eq!(part_name(5), "00000000000000000005");
        assert!(part_name(10) > part_name(9));
        assert_eq!(part_offset(&part_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(part_offset("5"), None);
        assert_eq!(part_offset("0000000000000000000x"), None);
        assert_eq!(part_offset(&"a".repeat(64)), None);
    }

    #[test]
    fn the_upload_ends_at_the_first_gap() {
        let run = contiguous(vec![part(5, 3), part(0, 5), part(10, 1)]);
        assert_eq!(run.iter().map(|p| p.offset).collect::<Vec<_>>(), vec![0, 5]);
        assert!(contiguous(vec![part(1, 1)]).is_empty());
    }
}
