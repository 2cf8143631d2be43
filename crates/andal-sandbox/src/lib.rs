//! # andal-sandbox
//!
//! A local identity-check service for tests, examples, benchmarks and demos. It speaks
//! the Andal HTTP API v1 (`docs/api.md`) on loopback, answers from a synthetic registry
//! generated from a seed, counts what it receives and charges, and injects switchable
//! faults (down, hang, slow, 5xx, 429, reset mid-body, malformed or oversized bodies,
//! flapping). **It is not a production registry**: no TLS, loopback only, no real data.
//!
//! ```no_run
//! use andal_sandbox::{Fault, SandboxConfig};
//! let sandbox = andal_sandbox::start(SandboxConfig::default().seed(7))?;
//! let person = &sandbox.sample(1)[0];
//! println!("{} has {} people; try {}", sandbox.url(), sandbox.registry().len(), person.nik);
//! sandbox.set_fault(Fault::Down);      // connections refused from now on
//! sandbox.clear_fault();               // serving again on the same port
//! println!("{:?}", sandbox.accounting().partner("demo-bank"));
//! # Ok::<(), andal_sandbox::SandboxError>(())
//! ```
//!
//! The HTTP layer is written by hand on tokio's sockets and `httparse` (see `http.rs` and
//! `docs/sandbox.md`): the faults need byte-level control of sockets that a framework
//! would hide. The sandbox owns a small tokio runtime (an acceptor thread and two
//! workers: 3 OS threads whatever the number of connections), started and stopped by
//! [`start`] and [`Sandbox::stop`]; callers need no runtime of their own.
#![warn(missing_docs)]

mod accounting;
mod config;
mod fault;
mod http;
pub mod issuer;
mod names;
mod registry;
mod server;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub use accounting::{Accounting, PartnerAccounting};
pub use config::{
    Attester, BPJS_KEY, BPJS_PARTNER, DEFAULT_IDEMPOTENCY_TTL, DEFAULT_PEOPLE, DEFAULT_SEED,
    DEMO_BANK_KEY, DEMO_BANK_PARTNER, MAX_BODY_BYTES, PartnerConfig, SUSPENDED_KEY,
    SUSPENDED_PARTNER, SandboxConfig,
};
pub use fault::Fault;
pub use registry::{
    BIRTH_YEARS, BLORA, BLORA_PERCENT, INACTIVE_PER_MILLE, Person, Registry, SamplePerson,
};

use server::Shared;

/// Worker threads of the sandbox's runtime: the connection tasks run there (the acceptor
/// runs on its own thread), so a sandbox uses 3 OS threads however many connections it
/// holds.
const SERVER_WORKERS: usize = 2;

/// Why the sandbox could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The loopback port could not be bound.
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// Port asked for.
        port: u16,
        /// OS error.
        source: std::io::Error,
    },
    /// Invalid configuration.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// Other I/O error.
    #[error("sandbox I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running sandbox. Shareable across threads; stops on [`Sandbox::stop`] or drop.
pub struct Sandbox {
    shared: Arc<Shared>,
    issuer: Option<Arc<issuer::SandboxIssuer>>,
    acceptor: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.shared.addr)
            .field("people", &self.shared.registry.len())
            .field("fault", &self.fault())
            .finish()
    }
}

// Tests share the handle across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Sandbox>();
};

/// Generate the registry, bind `127.0.0.1:port` and start serving.
pub fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
    let mut keys = std::collections::HashSet::new();
    for p in &config.partners {
        if p.partner_id.is_empty() || p.api_key.is_empty() {
            return Err(SandboxError::Config(
                "partner ids and API keys must not be empty".into(),
            ));
        }
        if !keys.insert(p.api_key.as_str()) {
            return Err(SandboxError::Config(format!(
                "API key of partner {} is used twice",
                p.partner_id
            )));
        }
    }
    let registry = Registry::generate(config.seed, config.people);
    let issuer = if config.issuer && config.attester.is_none() {
        Some(Arc::new(issuer::SandboxIssuer::new(config.seed).map_err(
            |e| SandboxError::Config(format!("token issuer: {}", e.reason())),
        )?))
    } else {
        None
    };
    let attester = match (&config.attester, &issuer) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(i)) => Some(i.clone() as Arc<dyn Attester>),
        (None, None) => None,
    };
    let listener =
        server::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port))).map_err(|source| {
            SandboxError::Bind {
                port: config.port,
                source,
            }
        })?;
    let addr = listener.local_addr()?;
    let mut shared = Shared::new(
        registry,
        &config.partners,
        attester,
        issuer.clone(),
        config.idempotency_ttl,
        addr,
        config.seed,
    );
    shared.require_partner_id = config.require_partner_id;
    let shared = Arc::new(shared);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_WORKERS)
        .thread_name("sandbox-worker")
        .enable_io()
        .enable_time()
        .build()?;
    let sh = Arc::clone(&shared);
    // The runtime lives and dies on this thread, never in a caller's async context
    // (dropping a runtime there panics).
    let acceptor = std::thread::Builder::new()
        .name("sandbox-accept".into())
        .spawn(move || {
            runtime.block_on(server::accept_loop(sh, listener));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
    tracing::info!(
        %addr,
        people = shared.registry.len(),
        seed = config.seed,
        generation_ms = shared.registry.generation_time().as_millis() as u64,
        "sandbox started"
    );
    Ok(Sandbox {
        shared,
        issuer,
        acceptor: Mutex::new(Some(acceptor)),
    })
}

impl Sandbox {
    /// The built-in token issuer (root key to pin, minting, revocation), if enabled.
    pub fn issuer(&self) -> Option<&Arc<issuer::SandboxIssuer>> {
        self.issuer.as_ref()
    }

    /// A token for a registry record, as a citizen's ID wallet would hold it (None: no
    /// issuer, or no such NIK).
    pub fn mint_token(&self, nik: &str, partner: &str) -> Option<String> {
        let person = self.shared.registry.get_digits(nik)?;
        self.issuer.as_ref()?.mint(person, &[partner.to_owned()])
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Bound address (the same across `Down` and recovery).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Switch to a fault (out-of-range parameters are clamped; see [`Fault::validate`]).
    /// `Down` returns once the listener is closed.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.set_fault(Some(fault));
    }

    /// Back to normal service; returns once the listener is bound again.
    pub fn clear_fault(&self) {
        self.shared.set_fault(None);
    }

    /// The fault in force.
    pub fn fault(&self) -> Option<Fault> {
        self.shared.current_fault()
    }

    /// A snapshot of the counters.
    pub fn accounting(&self) -> Accounting {
        self.shared.accounting.lock().clone()
    }

    /// Zero every counter (partners stay listed).
    pub fn reset_accounting(&self) {
        server::reset_accounting(&self.shared);
    }

    /// `n` deterministic active records (same seed, same people).
    pub fn sample(&self, n: usize) -> Vec<SamplePerson> {
        self.shared.registry.sample_where(n, true)
    }

    /// `n` deterministic records whose `active` flag is `active`.
    pub fn sample_where(&self, n: usize, active: bool) -> Vec<SamplePerson> {
        self.shared.registry.sample_where(n, active)
    }

    /// The synthetic registry.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// Stop serving: close the listener and every connection (hung requests included).
    /// Idempotent; also done on drop.
    pub fn stop(&self) {
        let handle = self.acceptor.lock().take();
        let Some(handle) = handle else { return };
        self.shared.begin_stop();
        let _ = handle.join();
        tracing::info!(addr = %self.shared.addr, "sandbox stopped");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Command-line arguments of `andal-sandbox` (flattened by `andal sandbox`).
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Loopback port to bind (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Registry seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Number of synthetic people.
    #[arg(long, default_value_t = DEFAULT_PEOPLE)]
    pub people: usize,
    /// Print this many sample people as JSON lines and exit.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// With --sample: print inactive (deceased) records instead of active ones.
    #[arg(long, requires = "sample")]
    pub inactive: bool,
}

impl Default for SandboxArgs {
    fn default() -> Self {
        SandboxArgs {
            port: 0,
            seed: DEFAULT_SEED,
            people: DEFAULT_PEOPLE,
            sample: None,
            inactive: false,
        }
    }
}

/// Run the command: print samples and return, or serve until the process is killed
/// (the URL is the first line of stdout; stdin is ignored).
pub fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    if let Some(n) = args.sample {
        let registry = Registry::generate(args.seed, args.people);
        let mut out = std::io::stdout().lock();
        for p in registry.sample_where(n, !args.inactive) {
            let line = serde_json::to_string(&p).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        return Ok(());
    }
    let sandbox = start(
        SandboxConfig::default()
            .seed(args.seed)
            .people(args.people)
            .port(args.port),
    )?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", sandbox.url())?;
        out.flush()?;
    }
    eprintln!(
        "andal-sandbox: {} synthetic people (seed {}) generated in {} ms; partners: \
         {DEMO_BANK_PARTNER} ({DEMO_BANK_KEY}), {BPJS_PARTNER} ({BPJS_KEY}), \
         {SUSPENDED_PARTNER} ({SUSPENDED_KEY}, suspended). Not a production registry.",
        sandbox.registry().len(),
        args.seed,
        sandbox.registry().generation_time().as_millis()
    );
    loop {
        std::thread::park();
    }
}
