//! The pairing code a device types (or scans) to join a server: the server's address, the first
//! 40 bits of its certificate's SHA-256 fingerprint, and a one-time enrolment code, in Crockford
//! base32 (no I, L, O or U; case and dashes do not matter). The fingerprint part lets the device
//! refuse an impostor before it sends the enrolment code; after pairing it pins the whole
//! fingerprint.

/// Crockford's base32 alphabet.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The first 40 bits of a certificate fingerprint (hex), as 8 base32 characters.
pub fn fingerprint_prefix(fingerprint_hex: &str) -> Option<String> {
    let mut bytes = [0u8; 5];
    hex::decode_to_slice(fingerprint_hex.get(..10)?, &mut bytes).ok()?;
    let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Some((0..8).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect())
}

/// A code as typed: upper case, only letters and digits, the letters people mistake for digits
/// mapped to them.
pub fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// A pairing code: where, whom to trust, and the one-time code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingCode {
    /// `https://host:port`.
    pub url: String,
    /// 8 base32 characters.
    pub fingerprint_prefix: String,
    /// 16 base32 characters.
    pub enrol_code: String,
}

impl PairingCode {
    /// The code as shown: 24 characters in groups of four.
    pub fn code(&self) -> String {
        let all = format!("{}{}", self.fingerprint_prefix, self.enrol_code);
        all.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
    }

    /// Reads an address and a code as a person typed them. Errors name what is wrong.
    pub fn parse(address: &str, code: &str) -> Result<PairingCode, String> {
        let address = address.trim().trim_end_matches('/');
        if address.is_empty() {
            return Err("type the address shown on the PC that hosts the relay, e.g. 192.168.1.20:8443".into());
        }
        let url = if address.starts_with("https://") {
            address.to_string()
        } else if address.starts_with("http://") {
            return Err("the address must use https:// (sync is always encrypted)".into());
        } else {
            format!("https://{address}")
        };
        if url.len() > 200 || url[8..].is_empty() || url[8..].contains(|c: char| c.is_whitespace() || c == '/') {
            return Err("the address is not a computer's address, e.g. 192.168.1.20:8443".into());
        }
        let code = normalise(code);
        if code.len() != 24 {
            return Err(format!("the pairing code has 24 letters and digits; this one has {}", code.len()));
        }
        if let Some(bad) = code.chars().find(|c| !ALPHABET.contains(&(*c as u8))) {
            return Err(format!("the pairing code cannot contain {bad:?}"));
        }
        Ok(PairingCode { url, fingerprint_prefix: code[..8].to_string(), enrol_code: code[8..].to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let fp = "00443214c74254b635cf84653a56d7c675be77df0000000000000000000000aa";
        let prefix = fingerprint_prefix(fp).unwrap();
        assert_eq!(prefix.len(), 8);
        assert_eq!(prefix, "01234567");
        let code = PairingCode {
            url: "https://192.168.1.20:8443".into(),
            fingerprint_prefix: prefix,
            enrol_code: "ABCDEFGHJKMNPQRS".into(),
        };
        assert_eq!(code.code(), "0123-4567-ABCD-EFGH-JKMN-PQRS");
        let typed = PairingCode::parse(" 192.168.1.20:8443/ ", "o123 4567 abcd-efgh jkmn pqrs").unwrap();
        assert_eq!(typed, code);
        assert!(PairingCode::parse("http://x", &code.code()).unwrap_err().contains("https"));
        assert!(PairingCode::parse("host:1", "ABC").unwrap_err().contains("24"));
        assert!(PairingCode::parse("host:1", "UUUU-4567-ABCD-EFGH-JKMN-PQRS").unwrap_err().contains("'U'"));
        assert!(PairingCode::parse("", "x").is_err());
    }
}
