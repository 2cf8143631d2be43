// Shared fixture: a keyset with an EdDSA and an ES256 token key, a root.
use std::sync::OnceLock;

use andal_token::issue::{Authority, SigningKey};
use andal_token::{Alg, Keyset, RootKey, TrustStore};

pub const NOW: u64 = 1_767_225_600;

pub struct Fx {
    pub roots: Vec<RootKey>,
    pub store: TrustStore,
}

pub fn fx() -> &'static Fx {
    static F: OnceLock<Fx> = OnceLock::new();
    F.get_or_init(|| {
        let root = Authority::new(
            "iss",
            SigningKey::ed25519_from_seed("root", &[1; 32]).unwrap(),
        );
        let ed = SigningKey::ed25519_from_seed("k1", &[2; 32]).unwrap();
        let es = SigningKey::generate(Alg::ES256, "k2").unwrap();
        let doc = root
            .sign_keyset(NOW, &[ed.public_jwk(), es.public_jwk()])
            .unwrap();
        let roots = vec![root.root_key()];
        let ks = Keyset::verify_signed(&doc, &roots, NOW).unwrap();
        Fx {
            store: TrustStore::from_keyset(&ks),
            roots,
        }
    })
}
