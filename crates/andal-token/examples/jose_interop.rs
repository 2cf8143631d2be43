//! Interoperability driver for `scripts/test.d/jose-interop.sh` (an independent JOSE
//! library on the other side).
//!
//! `jose_interop issue DIR`: mint attestation tokens with Andal (Ed25519 and ES256) and
//! write `DIR/andal-NAME.token` + `DIR/andal-NAME.jwk.json` (public key).
//! `jose_interop verify DIR`: verify every `DIR/py-NAME.token` under `DIR/py-NAME.jwk.json`
//! (tokens named `*-bad` must be rejected), print one `ok NAME` / `FAIL NAME: why` line
//! each; exit status 1 if any failed.

use andal_token::issue::{Issuer, MintRequest, SigningKey};
use andal_token::{Alg, FieldValues, Jwk, TrustStore, VerifyOptions, VerifyingKey};

/// Shared with the Python side.
const NOW: u64 = 1_767_225_600;
const ISS: &str = "andal-interop";
const AUD: &str = "bank-1";
const FIELDS: FieldValues<'static> = FieldValues {
    nik: "3174015708900001",
    name: "SITI AMINAH",
    birth_date: "1990-08-17",
};

fn issue(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    for (name, key) in [
        (
            "eddsa",
            SigningKey::ed25519_from_seed("andal-ed", &[5; 32])?,
        ),
        ("es256", SigningKey::generate(Alg::ES256, "andal-es")?),
    ] {
        std::fs::write(
            dir.join(format!("andal-{name}.jwk.json")),
            key.public_jwk().to_json(),
        )?;
        let issuer = Issuer::new(ISS, key);
        let token = issuer.mint(&MintRequest {
            fields: FIELDS,
            audience: vec![AUD.into()],
            iat: NOW - 60,
            nbf: None,
            exp: NOW + 86_400,
            jti: Some(format!("andal-{name}")),
        })?;
        std::fs::write(dir.join(format!("andal-{name}.token")), token)?;
    }
    Ok(())
}

fn verify_one(dir: &std::path::Path, name: &str) -> Result<(), String> {
    let read = |ext: &str| {
        std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).map_err(|e| e.to_string())
    };
    let jwk = Jwk::from_json(&read("jwk.json")?).map_err(|e| format!("key: {e}"))?;
    let key = VerifyingKey::from_jwk(&jwk).map_err(|e| format!("key: {e}"))?;
    let store = TrustStore::from_keys(Some(ISS.into()), vec![key]);
    let v = store
        .verify(read("token")?.trim(), &VerifyOptions::new(AUD, NOW))
        .map_err(|e| e.reason().to_string())?;
    v.claims
        .require_fields(&FIELDS)
        .map_err(|e| e.reason().to_string())
}

fn verify(dir: &std::path::Path) -> Result<bool, Box<dyn std::error::Error>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".token").map(str::to_owned))
        .filter(|n| n.starts_with("py-"))
        .collect();
    names.sort();
    let mut all_ok = !names.is_empty();
    for name in names {
        let expect_ok = !name.ends_with("-bad");
        match (verify_one(dir, &name), expect_ok) {
            (Ok(()), true) => println!("ok {name}"),
            (Err(why), false) => println!("ok {name} (rejected: {why})"),
            (Ok(()), false) => {
                all_ok = false;
                println!("FAIL {name}: accepted, must be rejected");
            }
            (Err(why), true) => {
                all_ok = false;
                println!("FAIL {name}: {why}");
            }
        }
    }
    Ok(all_ok)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: jose_interop issue|verify DIR");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(dir);
    match cmd.as_str() {
        "issue" => issue(dir),
        "verify" => {
            if !verify(dir)? {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: jose_interop issue|verify DIR");
            std::process::exit(2);
        }
    }
}
