//! A full client check against the sandbox on loopback vs a bare ureq POST of the same
//! request to the same endpoint, in one run. Target: the client adds at most 5 %.

use std::time::Duration;

use andal::api::CheckRequest;
use andal::{Client, Query};
use andal_sandbox::{DEMO_BANK_KEY, DEMO_BANK_PARTNER, SandboxConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let sb = andal_sandbox::start(SandboxConfig::default().seed(1).people(10_000)).unwrap();
    let people = sb.sample(256);
    let queries: Vec<Query> = people
        .iter()
        .map(|p| Query::parse(&p.nik, &p.full_name, &p.birth_date).unwrap())
        .collect();
    let bodies: Vec<Vec<u8>> = queries
        .iter()
        .map(|q| serde_json::to_vec(&CheckRequest::from_query(q)).unwrap())
        .collect();

    let client = Client::builder(sb.url())
        .partner_id(DEMO_BANK_PARTNER)
        .api_key(DEMO_BANK_KEY)
        .allow_insecure_http(true)
        .build()
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let url = format!("{}{}", sb.url(), andal::api::CHECKS_PATH);
    let auth = format!("Bearer {DEMO_BANK_KEY}");

    let mut g = c.benchmark_group("check_on_loopback");
    g.measurement_time(Duration::from_secs(4));
    g.warm_up_time(Duration::from_secs(1));
    let mut i = 0usize;
    g.bench_function("bare_ureq_post", |b| {
        b.iter(|| {
            i += 1;
            let key = format!("bare-{i}");
            let mut resp = agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .config()
                .timeout_global(Some(Duration::from_secs(2)))
                .build()
                .send(&bodies[i % bodies.len()][..])
                .unwrap();
            let body = resp.body_mut().read_to_vec().unwrap();
            let parsed: andal::api::CheckResponse = serde_json::from_slice(&body).unwrap();
            parsed
        })
    });
    let mut j = 0usize;
    g.bench_function("andal_client_verify", |b| {
        b.iter(|| {
            j += 1;
            client.verify(&queries[j % queries.len()]).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
