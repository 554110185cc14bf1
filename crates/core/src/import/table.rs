//! Reading a CSV file as PMS systems write them: UTF-8 with or without a byte-order mark, UTF-16
//! with one, or Windows-1252; comma, semicolon or tab between fields; quoted fields holding commas
//! and line breaks; CRLF or LF. Blank rows are skipped. Every row keeps its line number in the file.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest file read (a 100,000-client export is about 20 MB).
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// The longest field kept (longer ones make the row rejected, never cut).
pub const MAX_CELL_CHARS: usize = 10_000;
/// The most columns a row may have.
const MAX_COLUMNS: usize = 500;

/// A file's rows, as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The first row: the column headings, trimmed ("column 3" where one is blank).
    pub headers: Vec<String>,
    pub rows: Vec<Line>,
    pub encoding: &'static str,
    pub delimiter: Delimiter,
}

/// One row of the file after the headings.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Where the row starts in the file (1 is the headings' line).
    pub line: u64,
    pub cells: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
}

impl Delimiter {
    fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }
}

/// The file's text, and the name of the encoding it was read as.
fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (text.into_owned(), encoding.name());
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return (encoding.decode_without_bom_handling(bytes).0.into_owned(), encoding.name());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_string(), "UTF-8");
    }
    // A file mostly in UTF-8 with a line or two typed on an older system: each line as it was written.
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let utf8_non_ascii = lines.iter().any(|l| !l.is_ascii() && std::str::from_utf8(l).is_ok());
    if utf8_non_ascii {
        let text = lines
            .iter()
            .map(|l| match std::str::from_utf8(l) {
                Ok(t) => t.to_string(),
                Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(l).0.into_owned(),
            })
            .collect();
        return (text, "UTF-8 with some lines in windows-1252");
    }
    // Not UTF-8: what Excel and older PMS systems on Windows write. Every byte means something in
    // Windows-1252, so nothing is lost or refused here.
    (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(), "windows-1252")
}

/// UTF-16 written without a byte-order mark: text whose every other byte is zero.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let zeros = |offset: usize| sample.iter().skip(offset).step_by(2).filter(|&&b| b == 0).count();
    let half = sample.len() / 2;
    match (zeros(0), zeros(1)) {
        (even, odd) if odd * 10 >= half * 9 && even * 10 <= half => Some(encoding_rs::UTF_16LE),
        (even, odd) if even * 10 >= half * 9 && odd * 10 <= half => Some(encoding_rs::UTF_16BE),
        _ => None,
    }
}

/// The separator the headings' line uses most, outside quotes.
fn sniff(text: &str) -> Delimiter {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab][best]
}

/// Where a quoted field that is never closed starts (its byte offset), the way the reader reads
/// quotes: a quote opens a field only at its start, and inside one `""` is a quote.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut field_start) = (0, true);
    while i < b.len() {
        match b[i] {
            b'"' if field_start => {
                let opened = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some(opened),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                field_start = false;
            }
            c if c == delimiter || c == b'\n' || c == b'\r' => field_start = true,
            _ => field_start = false,
        }
        i += 1;
    }
    None
}

/// A heading fit to show and to name in a mapping: no control characters, at most 100 characters.
fn clean_heading(heading: &str, index: usize) -> String {
    let cleaned: String = heading.chars().filter(|c| !c.is_control()).take(100).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() {
        format!("column {}", index + 1)
    } else {
        cleaned
    }
}

/// A cell as written to a CSV file a person may open in a spreadsheet: one that would run as a
/// formula gets an apostrophe first (which `read` takes off again).
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A cell as written in a spreadsheet-safe file (see `spreadsheet_safe`): a leading apostrophe before
/// `=`, `+`, `-` or `@` is that protection, not part of the value.
fn unprotect(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

/// Reads `bytes`, the content of `file` (named in errors). The headings are the first row with two
/// or more cells filled (a title line above them is passed over), or the first row if none has.
pub fn read(file: &str, bytes: &[u8]) -> Result<Table> {
    if bytes.len() > MAX_BYTES {
        return Err(Error::invalid(file, format!("is larger than {} MB", MAX_BYTES / 1024 / 1024)));
    }
    let (text, encoding) = decode(bytes);
    let delimiter = sniff(&text);
    // Line numbers as an editor shows them (a quoted field's line breaks count; CRLF, LF or CR).
    let all = text.as_bytes();
    let breaks = |from: usize, to: usize| -> u64 {
        let to = to.min(all.len());
        (from..to).filter(|&i| all[i] == b'\n' || (all[i] == b'\r' && all.get(i + 1) != Some(&b'\n'))).count() as u64
    };
    let line_of = |byte: usize| breaks(0, byte) + 1;
    if let Some(opened) = unclosed_quote(&text, delimiter.byte()) {
        return Err(Error::invalid(
            format!("{file}, line {}", line_of(opened)),
            "opens a quote that is never closed, so every row after it would be read as one value: \
             correct the quotes in that row and try again",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.byte())
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines: Vec<Line> = Vec::new();
    let mut record = csv::StringRecord::new();
    // Counted as the reader goes (the offsets only grow), so the whole file is walked once.
    let (mut line, mut counted) = (1u64, 0usize);
    let mut line_at = |byte: u64| {
        // The reader's offset can point at the line break ending the previous record (or at blank
        // lines it skipped): the record starts after them.
        let mut byte = (byte as usize).min(text.len());
        while matches!(text.as_bytes().get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        if byte > counted {
            line += breaks(counted, byte);
            counted = byte;
        }
        line
    };
    loop {
        let start = line_at(reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Error::invalid(format!("{file}, line {start}"), format!("cannot be read as CSV: {e}")));
            }
        }
        let line = match record.position() {
            Some(p) => line_at(p.byte()),
            None => start,
        };
        if record.len() > MAX_COLUMNS {
            return Err(Error::invalid(format!("{file}, line {line}"), format!("has more than {MAX_COLUMNS} columns")));
        }
        let cells: Vec<String> = record.iter().map(|c| unprotect(c.trim()).to_string()).collect();
        if cells.iter().any(|c| !c.is_empty()) {
            lines.push(Line { line, cells });
        }
    }
    let filled = |l: &Line| l.cells.iter().filter(|c| !c.is_empty()).count();
    let Some(first) = lines.iter().position(|l| filled(l) >= 2).or(if lines.is_empty() { None } else { Some(0) })
    else {
        return Err(Error::invalid(file, "is empty: it has no heading row"));
    };
    let mut rows = lines.split_off(first);
    let heading_row = rows.remove(0);
    // Two columns with one heading ("Telephone" twice) are told apart: "Telephone (2)".
    let mut headers: Vec<String> = Vec::new();
    for (i, h) in heading_row.cells.iter().enumerate() {
        let base = clean_heading(h, i);
        let mut name = base.clone();
        let mut n = 1;
        while headers.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
            n += 1;
            name = format!("{base} ({n})");
        }
        headers.push(name);
    }
    Ok(Table { headers, rows, encoding, delimiter })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_file_with_a_bom_crlf_and_quoted_commas_and_line_breaks() {
        let bytes = "\u{feff}Surname,Address 1,Notes\r\nO'Brien,\"4, Ferry Road\",\"Bites;\r\nmuzzle\"\r\n\r\n,,\r\nSmith,1 High St,\r\n"
            .as_bytes();
        let t = read("clients.csv", bytes).unwrap();
        assert_eq!(t.headers, vec!["Surname", "Address 1", "Notes"]);
        assert_eq!(t.encoding, "UTF-8");
        assert_eq!(t.delimiter, Delimiter::Comma);
        assert_eq!(
            t.rows,
            vec![
                Line { line: 2, cells: vec!["O'Brien".into(), "4, Ferry Road".into(), "Bites;\r\nmuzzle".into()] },
                Line { line: 6, cells: vec!["Smith".into(), "1 High St".into(), "".into()] },
            ]
        );
    }

    #[test]
    fn windows_1252_semicolons_and_tabs() {
        // "Zoë" and "£" in Windows-1252.
        let t = read("a.csv", b"Forename;Surname;Notes\nZo\xeb;Lef\xe8vre;Owes \xa35\n").unwrap();
        assert_eq!(t.encoding, "windows-1252");
        assert_eq!(t.delimiter, Delimiter::Semicolon);
        assert_eq!(t.rows[0].cells, vec!["Zoë", "Lefèvre", "Owes £5"]);
        let t = read("b.csv", b"Surname\tPost Code\nSmith\tNR1 1AA\n").unwrap();
        assert_eq!(t.delimiter, Delimiter::Tab);
        assert_eq!(t.rows[0].cells, vec!["Smith", "NR1 1AA"]);
    }

    #[test]
    fn utf16_with_a_bom() {
        let mut bytes = vec![0xff, 0xfe];
        for unit in "Surname\r\nZoë\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let t = read("u.csv", &bytes).unwrap();
        assert_eq!(t.encoding, "UTF-16LE");
        assert_eq!(t.rows[0].cells, vec!["Zoë"]);
    }

    #[test]
    fn an_empty_file_and_a_broken_quote_are_refused_by_name() {
        assert_eq!(read("e.csv", b"").unwrap_err().to_string(), "e.csv: is empty: it has no heading row");
        assert_eq!(read("e.csv", b"\r\n , \r\n").unwrap_err().to_string(), "e.csv: is empty: it has no heading row");
        let unclosed = b"No,Surname,Address\r\n1,Ok,1 St\r\n2,Quote,\"1 Unclosed St\r\n3,After,3 St\r\n";
        assert_eq!(
            read("q.csv", unclosed).unwrap_err().to_string(),
            "q.csv, line 3: opens a quote that is never closed, so every row after it would be read as one value: \
             correct the quotes in that row and try again"
        );
        // Quotes inside an unquoted value, and doubled quotes inside a quoted one, are not openings.
        let fine = read("f.csv", b"No,Notes\n1,6\" nail\n2,\"said \"\"hello\"\"\"\n").unwrap();
        assert_eq!(fine.rows[0].cells, vec!["1", "6\" nail"]);
        assert_eq!(fine.rows[1].cells, vec!["2", "said \"hello\""]);
    }

    #[test]
    fn a_title_line_repeated_headings_lone_cr_lines_and_mixed_encodings() {
        let t =
            read("t.csv", b"Client export 01/12/2026\rNo,Telephone,Telephone\r1,01632 960001,07700 900001\r\r2,,\r")
                .unwrap();
        assert_eq!(t.headers, vec!["No", "Telephone", "Telephone (2)"]);
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 5]);
        let t = read(
            "m.csv",
            "Name,Town\nZoë,Norwich\n"
                .as_bytes()
                .iter()
                .copied()
                .chain(*b"Caf\xe9,Ely\n")
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .unwrap();
        assert_eq!(t.encoding, "UTF-8 with some lines in windows-1252");
        assert_eq!((t.rows[0].cells[0].as_str(), t.rows[1].cells[0].as_str()), ("Zoë", "Café"));
        let mut bytes = Vec::new();
        for unit in "Name,Town\r\nZoë,Ely\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let t = read("u.csv", &bytes).unwrap();
        assert_eq!((t.encoding, t.rows[0].cells[0].as_str()), ("UTF-16LE", "Zoë"));
        let t = read("x.csv", b"Name,Formula\nA,'=1+1\nB,'plain\n").unwrap();
        assert_eq!((t.rows[0].cells[1].as_str(), t.rows[1].cells[1].as_str()), ("=1+1", "'plain"));
    }
}
