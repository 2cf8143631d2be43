//! Full offline token verification vs raw ring Ed25519 verification of the
//! same signing input. Run: `cargo bench -p andal-token --bench verify`.
use std::hint::black_box;

use andal_token::issue::{Authority, Issuer, MintRequest, SigningKey};
use andal_token::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::signature::{ED25519, UnparsedPublicKey};

const NOW: u64 = 1_767_225_600;

fn bench(c: &mut Criterion) {
    let root = Authority::new("iss", SigningKey::generate(Alg::EdDSA, "root").unwrap());
    let key = SigningKey::generate(Alg::EdDSA, "k1").unwrap();
    let public = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(key.public_jwk().x.unwrap())
            .unwrap()
    };
    let doc = root.sign_keyset(NOW, &[key.public_jwk()]).unwrap();
    let ks = Keyset::verify_signed(&doc, &[root.root_key()], NOW).unwrap();
    let store = TrustStore::from_keyset(&ks);
    let rl_doc = root
        .sign_revocation_list(NOW, NOW + 3600, &["x".into()], &[])
        .unwrap();
    let rl = RevocationList::verify_signed(&rl_doc, &[root.root_key()], NOW).unwrap();
    let fields = FieldValues {
        nik: "3174015708900001",
        name: "SITI AMINAH",
        birth_date: "1990-08-17",
    };
    let token = Issuer::new("iss", key)
        .mint(&MintRequest {
            fields,
            audience: vec!["bpjs".into()],
            iat: NOW,
            nbf: None,
            exp: NOW + 3600,
            jti: None,
        })
        .unwrap();
    let dot = token.rfind('.').unwrap();
    let input = token.as_bytes()[..dot].to_vec();
    let sig = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token[dot + 1..])
            .unwrap()
    };
    let opts = VerifyOptions::new("bpjs", NOW + 10);

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_ring_ed25519", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ED25519, black_box(&public))
                .verify(black_box(&input), black_box(&sig))
                .unwrap()
        })
    });
    g.bench_function("full_offline_check", |b| {
        b.iter(|| {
            let v = store.verify(black_box(&token), &opts).unwrap();
            let m = v.claims.match_fields(black_box(&fields));
            assert!(m.all());
            rl.check(&v.claims, fields.nik).unwrap();
        })
    });
    g.bench_function("token_verify_only", |b| {
        b.iter(|| store.verify(black_box(&token), &opts).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
