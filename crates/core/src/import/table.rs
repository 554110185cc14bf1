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
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), "UTF-8"),
        // Not UTF-8: what Excel and older PMS systems on Windows write. Every byte means something
        // in Windows-1252, so nothing is lost or refused here.
        Err(_) => (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(), "windows-1252"),
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

/// Reads `bytes`, the content of `file` (named in errors).
pub fn read(file: &str, bytes: &[u8]) -> Result<Table> {
    if bytes.len() > MAX_BYTES {
        return Err(Error::invalid(file, format!("is larger than {} MB", MAX_BYTES / 1024 / 1024)));
    }
    let (text, encoding) = decode(bytes);
    let delimiter = sniff(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.byte())
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Line numbers as an editor shows them (a quoted field's line breaks count), from byte offsets.
    let (mut line, mut counted) = (1u64, 0usize);
    let mut line_at = |byte: u64| {
        // The reader's offset can point at the line break ending the previous record (or at blank
        // lines it skipped): the record starts after them.
        let mut byte = (byte as usize).min(text.len());
        while matches!(text.as_bytes().get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        line += text.as_bytes()[counted..byte].iter().filter(|&&b| b == b'\n').count() as u64;
        counted = counted.max(byte);
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
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        match &headers {
            None => {
                headers = Some(
                    cells
                        .iter()
                        .enumerate()
                        .map(|(i, h)| if h.is_empty() { format!("column {}", i + 1) } else { h.clone() })
                        .collect(),
                )
            }
            Some(_) => rows.push(Line { line, cells }),
        }
    }
    let headers = headers.ok_or_else(|| Error::invalid(file, "is empty: it has no heading row"))?;
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
    }
}
