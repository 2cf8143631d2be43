//! Strict base64url (RFC 4648 §5, no padding, canonical trailing bits).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Part, TokenError};

pub(crate) fn decode(s: &str, part: Part) -> Result<Vec<u8>, TokenError> {
    // Explicit alphabet check: rejects '=', '+', '/', whitespace, non-ASCII.
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadBase64 { part });
    }
    // The engine rejects a dangling single char and non-zero trailing bits.
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::BadBase64 { part })
}

/// Strict decode into a caller buffer (no allocation); too long is an error.
pub(crate) fn decode_into(s: &str, part: Part, out: &mut [u8]) -> Result<usize, TokenError> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadBase64 { part });
    }
    URL_SAFE_NO_PAD
        .decode_slice(s, out)
        .map_err(|_| TokenError::BadBase64 { part })
}

/// Encode as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("AQID", Part::Payload).unwrap(), vec![1, 2, 3]);
        assert_eq!(decode("", Part::Payload).unwrap(), Vec::<u8>::new());
        for bad in [
            "AQ==", "AQ=", "A", "AQ+D", "AQ/D", "AQ D", "AQ\nD", "AR", "Aé",
        ] {
            assert_eq!(
                decode(bad, Part::Payload),
                Err(TokenError::BadBase64 {
                    part: Part::Payload
                }),
                "{bad:?}"
            );
        }
    }
}
