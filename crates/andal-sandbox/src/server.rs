//! Listener, connections, routing and handlers.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use andal::api::{self, CheckRequest, CheckResponse, Health, Problem, ProblemCode, SignedDocument};
use andal::decision::{FieldMatch, FieldResults, Verdict};
use andal::query::normalize_name;
use parking_lot::{Condvar, Mutex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::accounting::{Accounting, PartnerAccounting};
use crate::config::{Attester, PartnerConfig};
use crate::fault::{Fault, FaultState, down_now};
use crate::http::{Body, Conn, ReadError, Request, Response};
use crate::registry::{Person, Registry};

/// Listen backlog asked for; the kernel caps it (`net.core.somaxconn`, 4096 by default on
/// Linux since 5.4). A burst of thousands of connects must wait in the backlog, not be
/// dropped and retransmitted after 1 s / 3 s.
const LISTEN_BACKLOG: i32 = 8192;
/// How long a down switch or a stop waits for open connections to close.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Largest `n` for `GET /admin/sample`.
const MAX_SAMPLE: usize = 1000;

struct IdemEntry {
    fingerprint: u64,
    body: Arc<Vec<u8>>,
    created: Instant,
}

#[derive(Default)]
struct IdemStore {
    map: HashMap<(String, String), IdemEntry>,
    inserts: u64,
}

/// State shared by the handle, the acceptor and the connection tasks.
pub(crate) struct Shared {
    pub registry: Arc<Registry>,
    partners_by_key: HashMap<String, PartnerConfig>,
    attester: Option<Arc<dyn Attester>>,
    issuer: Option<Arc<crate::issuer::SandboxIssuer>>,
    idem_ttl: Duration,
    /// Refuse authenticated requests without `X-Partner-Id` (set after `new`).
    pub require_partner_id: bool,
    pub addr: SocketAddr,
    pub fault: Mutex<FaultState>,
    /// Signalled on every fault switch, listener change and stop: wakes the acceptor,
    /// hung and slow requests and the async waiters (each subscribes, then checks state).
    changes: watch::Sender<()>,
    pub stopping: AtomicBool,
    /// An admin request answered a `Down` switch that it makes only once its answer is
    /// written: until then no other request is served (the caller may send its next
    /// request the instant it reads the answer).
    down_pending: AtomicBool,
    /// Where the listener is (the blocking waits of `Sandbox::set_fault` use the condvar).
    listener: Mutex<ListenerState>,
    listener_cv: Condvar,
    /// Bumped to close every open connection (down, stop).
    close_conns: watch::Sender<u64>,
    /// Connection tasks alive.
    live_conns: watch::Sender<usize>,
    pub accounting: Mutex<Accounting>,
    idem: Mutex<IdemStore>,
    error_rng: Mutex<ChaCha8Rng>,
    seed: u64,
    request_counter: AtomicU64,
    instance: String,
}

/// What a connection does after a handler.
enum Outcome {
    Continue,
    Close,
    Reset,
}

/// The listening socket, as the fault switches wait for it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListenerState {
    Open,
    /// Dropped; its connections are being closed. A switch back to serving waits for
    /// `Open` (not just "not closed"), a `Down` for `Closed`.
    Closing,
    Closed,
}

/// A fault switch asked for by an admin request.
enum After {
    /// Switched before the answer, so the caller sees it in force.
    SwitchBeforeAnswer(Option<Fault>),
    /// Switched once the answer is written (a fault that closes this very connection).
    SwitchAfterAnswer(Option<Fault>),
}

impl Shared {
    pub fn new(
        registry: Arc<Registry>,
        partners: &[PartnerConfig],
        attester: Option<Arc<dyn Attester>>,
        issuer: Option<Arc<crate::issuer::SandboxIssuer>>,
        idem_ttl: Duration,
        addr: SocketAddr,
        seed: u64,
    ) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut accounting = Accounting::default();
        for p in partners {
            accounting
                .partners
                .insert(p.partner_id.clone(), PartnerAccounting::default());
        }
        Shared {
            registry,
            partners_by_key: partners
                .iter()
                .map(|p| (p.api_key.clone(), p.clone()))
                .collect(),
            attester,
            issuer,
            idem_ttl,
            require_partner_id: false,
            addr,
            fault: Mutex::new(FaultState {
                fault: None,
                set_at: Instant::now(),
                generation: 0,
            }),
            changes: watch::Sender::new(()),
            stopping: AtomicBool::new(false),
            down_pending: AtomicBool::new(false),
            listener: Mutex::new(ListenerState::Open),
            listener_cv: Condvar::new(),
            close_conns: watch::Sender::new(0),
            live_conns: watch::Sender::new(0),
            accounting: Mutex::new(accounting),
            idem: Mutex::new(IdemStore::default()),
            error_rng: Mutex::new(error_rng(seed)),
            seed,
            request_counter: AtomicU64::new(0),
            instance: format!("{:08x}", (nanos ^ (nanos >> 32)) as u32),
        }
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Switch the fault (no wait). Returns the fault now in force.
    fn switch_fault(&self, fault: Option<Fault>) -> Option<Fault> {
        let fault = fault.map(Fault::clamped);
        {
            let mut st = self.fault.lock();
            // The error draws restart with every switch: same seed, same sequence.
            *self.error_rng.lock() = error_rng(self.seed);
            st.fault = fault.clone();
            st.set_at = Instant::now();
            st.generation += 1;
        }
        // The switch is made: requests now see the fault itself.
        self.down_pending.store(false, Ordering::SeqCst);
        self.changes.send_replace(());
        tracing::info!(
            fault = fault.as_ref().map_or("none", Fault::label),
            "sandbox fault switched"
        );
        fault
    }

    /// Switch the fault. Returns once a `Down` has closed the listener (and every open
    /// connection), or once a cleared fault has re-bound it (at most ~2 s). Blocks the
    /// calling thread: for the public API, never called on the sandbox's runtime.
    pub fn set_fault(&self, fault: Option<Fault>) {
        match self.switch_fault(fault) {
            Some(Fault::Down) => self.wait_listener(false),
            Some(Fault::Flapping { .. }) => {}
            _ => self.wait_listener(true),
        }
    }

    /// [`Shared::set_fault`] for the admin endpoints (on the runtime: waits without blocking).
    async fn set_fault_async(&self, fault: Option<Fault>) {
        match self.switch_fault(fault) {
            Some(Fault::Down) => self.wait_listener_async(false).await,
            Some(Fault::Flapping { .. }) => {}
            _ => self.wait_listener_async(true).await,
        }
    }

    pub fn current_fault(&self) -> Option<Fault> {
        self.fault.lock().fault.clone()
    }

    fn fault_and_generation(&self) -> (Option<Fault>, u64) {
        let st = self.fault.lock();
        (st.fault.clone(), st.generation)
    }

    fn generation(&self) -> u64 {
        self.fault.lock().generation
    }

    fn listener_state(&self) -> ListenerState {
        *self.listener.lock()
    }

    fn set_listener(&self, state: ListenerState) {
        *self.listener.lock() = state;
        self.listener_cv.notify_all();
        self.changes.send_replace(());
    }

    fn wait_listener(&self, open: bool) {
        let want = if open {
            ListenerState::Open
        } else {
            ListenerState::Closed
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut g = self.listener.lock();
        while *g != want && !self.stopping() {
            if self.listener_cv.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
    }

    async fn wait_listener_async(&self, open: bool) {
        let want = if open {
            ListenerState::Open
        } else {
            ListenerState::Closed
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut changes = self.changes.subscribe();
        while self.listener_state() != want && !self.stopping() {
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
    }

    /// Start stopping: the acceptor closes the listener and every connection, hung and
    /// slow requests give up.
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.changes.send_replace(());
    }

    /// Close every open connection (FIN, as `shutdown(Both)`), and wait (at most
    /// [`CLOSE_WAIT`]) until their tasks have ended.
    async fn close_all_conns(&self) {
        let mut live = self.live_conns.subscribe();
        self.close_conns.send_modify(|epoch| *epoch += 1);
        let _ = tokio::time::timeout(CLOSE_WAIT, live.wait_for(|n| *n == 0)).await;
    }

    /// Wait until the fault is switched (or the sandbox stops).
    async fn wait_for_switch(&self, generation: u64) {
        let mut changes = self.changes.subscribe();
        while self.generation() == generation && !self.stopping() {
            if changes.changed().await.is_err() {
                break;
            }
        }
    }

    /// Sleep until `until`, cut short only by a stop. Returns false if stopping.
    async fn sleep_unless_stopping(&self, until: Instant) -> bool {
        let mut changes = self.changes.subscribe();
        let sleep = tokio::time::sleep_until(until.into());
        tokio::pin!(sleep);
        while !self.stopping() {
            tokio::select! {
                () = &mut sleep => return true,
                r = changes.changed() => if r.is_err() { break },
            }
        }
        false
    }

    fn partner_of(&self, req: &Request) -> Result<&PartnerConfig, Problem> {
        let Some(auth) = req.header("authorization") else {
            return Err(Problem::new(
                ProblemCode::Unauthorized,
                "missing Authorization: Bearer <api key>",
            ));
        };
        let key = match auth.split_once(' ') {
            Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
            _ => {
                return Err(Problem::new(
                    ProblemCode::Unauthorized,
                    "Authorization must use the Bearer scheme",
                ));
            }
        };
        self.partners_by_key
            .get(key)
            .ok_or_else(|| Problem::new(ProblemCode::Unauthorized, "unknown API key"))
    }

    /// The key's partner must be the one `X-Partner-Id` names (403 `partner_mismatch`).
    /// A missing header is accepted unless `require_partner_id` is set: the key alone
    /// names the partner, and clients older than the header keep working.
    fn check_partner_header(&self, req: &Request, partner: &PartnerConfig) -> Result<(), Problem> {
        match req.header(api::PARTNER_ID_HEADER).map(str::trim) {
            Some(id) if id == partner.partner_id => Ok(()),
            // The detail names neither the sent id nor the key's partner.
            Some(_) => Err(Problem::new(
                ProblemCode::PartnerMismatch,
                "the partner id in X-Partner-Id does not match the partner of this API key",
            )),
            None if self.require_partner_id => Err(Problem::new(
                ProblemCode::PartnerMismatch,
                "missing X-Partner-Id header (the partner id the API key belongs to)",
            )),
            None => Ok(()),
        }
    }

    /// Authenticate a request to a trust document: public when no credentials are sent
    /// (the documents are signed), but credentials that are sent are checked like on
    /// `/v1/checks`, so a wrong key or partner shows at the client's trust refresh.
    fn check_optional_credentials(&self, req: &Request) -> Result<(), Response> {
        if req.header("authorization").is_none() && req.header(api::PARTNER_ID_HEADER).is_none() {
            return Ok(());
        }
        let partner = self
            .partner_of(req)
            .map_err(|p| Response::problem(&p).with_header("WWW-Authenticate", "Bearer"))?;
        self.check_partner_header(req, partner)
            .map_err(|p| Response::problem(&p))
    }

    fn record_status(&self, partner: Option<&str>, status: u16) {
        let mut a = self.accounting.lock();
        let bucket = match partner {
            Some(p) => a.partners.entry(p.to_owned()).or_default(),
            None => &mut a.unauthenticated,
        };
        *bucket.responses_by_status.entry(status).or_insert(0) += 1;
    }
}

fn error_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ 0xE770_0000_0000_0001)
}

/// Bind the listening socket with a large backlog (std's `TcpListener::bind` asks for 128).
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std does on Unix, so the port can be re-bound right after closing.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Sleep until `at`, or forever.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// The acceptor: owns the listening socket, closes it while down (flapping phases
/// included, woken by its own timer), re-binds after. Returns once stopped, with the
/// listener and every connection closed.
pub(crate) async fn accept_loop(sh: Arc<Shared>, listener: std::net::TcpListener) {
    let mut listener = match TcpListener::from_std(listener) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "sandbox listener not registered; re-binding");
            None
        }
    };
    loop {
        // Subscribe before reading the state: a switch after this point wakes us.
        let mut changes = sh.changes.subscribe();
        if sh.stopping() {
            break;
        }
        let (down, next) = down_now(&sh.fault.lock(), Instant::now());
        if down {
            if listener.is_some() {
                // Closing before the socket goes: whoever sees a refusal sees `Closing`.
                sh.set_listener(ListenerState::Closing);
                listener = None;
                sh.close_all_conns().await;
                sh.set_listener(ListenerState::Closed);
                tracing::info!(addr = %sh.addr, "sandbox listener closed (down)");
                continue;
            }
            match next {
                Some(_) => {
                    tokio::select! {
                        _ = changes.changed() => {}
                        () = sleep_until_opt(next) => {}
                    }
                }
                None => {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), changes.changed()).await;
                }
            }
            continue;
        }
        let l = match listener.as_ref() {
            Some(l) => l,
            None => match bind(sh.addr).and_then(TcpListener::from_std) {
                Ok(l) => {
                    tracing::info!(addr = %sh.addr, "sandbox listener re-bound");
                    sh.set_listener(ListenerState::Open);
                    listener.insert(l)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox could not re-bind; retrying");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        tokio::select! {
            accepted = l.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if sh.stopping() {
                        break;
                    }
                    if sh.down_pending.load(Ordering::SeqCst)
                        || down_now(&sh.fault.lock(), Instant::now()).0
                    {
                        continue; // dropped; the loop closes the listener
                    }
                    sh.accounting.lock().connections_accepted += 1;
                    let closed = sh.close_conns.subscribe();
                    let guard = LiveConn::new(Arc::clone(&sh));
                    tokio::spawn(async move {
                        serve_conn(&guard.0, stream, closed).await;
                        drop(guard);
                    });
                }
                Err(e) => {
                    if sh.stopping() {
                        break;
                    }
                    // E.g. out of file descriptors: back off a little.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
            _ = changes.changed() => {}
            // A flapping up phase ends.
            () = sleep_until_opt(next) => {}
        }
    }
    sh.set_listener(ListenerState::Closing);
    drop(listener);
    sh.close_all_conns().await;
    sh.set_listener(ListenerState::Closed);
}

/// Counts a connection task as alive until dropped (also when the runtime drops it).
struct LiveConn(Arc<Shared>);

impl LiveConn {
    fn new(sh: Arc<Shared>) -> Self {
        sh.live_conns.send_modify(|n| *n += 1);
        LiveConn(sh)
    }
}

impl Drop for LiveConn {
    fn drop(&mut self) {
        self.0.live_conns.send_modify(|n| *n -= 1);
    }
}

async fn serve_conn(sh: &Arc<Shared>, stream: TcpStream, mut closed: watch::Receiver<u64>) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(stream);
    let outcome = tokio::select! {
        outcome = conn_loop(sh, &mut conn) => outcome,
        // Down or stop: close at once, whatever the request is doing (hung, slowed,
        // streaming).
        _ = closed.changed() => Outcome::Close,
    };
    let sock = socket2::SockRef::from(&conn.stream);
    if matches!(outcome, Outcome::Reset) {
        // RST instead of FIN: SO_LINGER 0, then close (on drop).
        let _ = sock.set_linger(Some(Duration::ZERO));
    } else {
        let _ = sock.shutdown(Shutdown::Both);
    }
}

async fn conn_loop(sh: &Arc<Shared>, conn: &mut Conn) -> Outcome {
    loop {
        if sh.stopping() {
            return Outcome::Close;
        }
        let req = match conn.read_request().await {
            Ok(r) => r,
            Err(ReadError::Closed | ReadError::Io) => return Outcome::Close,
            Err(ReadError::Bad(msg)) => {
                let resp = Response::problem(&Problem::new(ProblemCode::InvalidInput, msg));
                let _ = resp.write_to(&mut conn.stream, false).await;
                return Outcome::Close;
            }
        };
        match handle(sh, &req, &mut conn.stream).await {
            Outcome::Continue if req.keep_alive => {}
            Outcome::Continue | Outcome::Close => return Outcome::Close,
            Outcome::Reset => return Outcome::Reset,
        }
    }
}

async fn handle(sh: &Arc<Shared>, req: &Request, stream: &mut TcpStream) -> Outcome {
    if sh.down_pending.load(Ordering::SeqCst) {
        return Outcome::Close;
    }
    let is_v1 = req.path.starts_with("/v1/");
    let is_checks = req.path == api::CHECKS_PATH;
    let partner: Option<PartnerConfig> = if is_checks {
        sh.partner_of(req).ok().cloned()
    } else {
        None
    };
    let partner_id = partner.as_ref().map(|p| p.partner_id.as_str());
    // The fault and its generation read together: a hang waits for the next switch.
    let (fault, generation) = if is_v1 {
        sh.fault_and_generation()
    } else {
        (None, 0)
    };
    {
        let mut a = sh.accounting.lock();
        // Also published through the `metrics` facade (`andal sandbox --metrics`); no-ops
        // without a recorder.
        if is_v1 {
            a.v1_requests += 1;
            metrics::counter!("andal_sandbox_requests_total").increment(1);
        }
        if fault.is_some() {
            a.faulted_requests += 1;
            metrics::counter!("andal_sandbox_faulted_requests_total").increment(1);
        }
        if is_checks {
            a.check_requests += 1;
            metrics::counter!("andal_sandbox_check_requests_total").increment(1);
            let bucket = match partner_id {
                Some(p) => a.partners.entry(p.to_owned()).or_default(),
                None => &mut a.unauthenticated,
            };
            bucket.requests_received += 1;
        }
    }
    let record = |status: u16| {
        if is_checks {
            sh.record_status(partner_id, status);
        }
    };

    if let Some(fault) = fault {
        match fault {
            Fault::Hang => {
                tracing::debug!(path = %req.path, "fault: hanging request");
                sh.wait_for_switch(generation).await;
                return Outcome::Close;
            }
            Fault::Slow { latency_ms } => {
                // The whole delay even if the fault is switched meanwhile; a stop cuts it.
                let until = Instant::now() + Duration::from_millis(latency_ms);
                if !sh.sleep_unless_stopping(until).await {
                    return Outcome::Close;
                }
            }
            Fault::Error { status, rate } => {
                let fail = rate >= 1.0 || sh.error_rng.lock().random_bool(rate.clamp(0.0, 1.0));
                if fail {
                    let code = if status == 500 {
                        ProblemCode::Internal
                    } else {
                        ProblemCode::Unavailable
                    };
                    let mut p = Problem::new(code, "injected fault: registry back end error");
                    p.status = status;
                    record(status);
                    return write(stream, &Response::problem(&p), req.keep_alive).await;
                }
            }
            Fault::Throttle { retry_after_secs } => {
                let p = Problem::new(
                    ProblemCode::RateLimited,
                    format!("injected fault: throttled, retry after {retry_after_secs} s"),
                );
                record(429);
                let resp =
                    Response::problem(&p).with_header("Retry-After", retry_after_secs.to_string());
                return write(stream, &resp, req.keep_alive).await;
            }
            Fault::MalformedJson => {
                record(200);
                let body =
                    br#"{"request_id":"sbx-malformed","verdict":"match","fields":{"nik":"SESU"#;
                let resp = Response::new(200, "application/json", body.to_vec());
                return write(stream, &resp, req.keep_alive).await;
            }
            Fault::Oversized { bytes } => {
                record(200);
                return stream_oversized(stream, bytes, req.keep_alive).await;
            }
            Fault::ResetMidBody => {
                let (resp, _) = route(sh, req, partner.as_ref());
                record(resp.status);
                let head = resp.head(false, resp.body.len() as u64);
                let half = &resp.body[..resp.body.len() / 2];
                let _ = stream.write_all(&head).await;
                let _ = stream.write_all(half).await;
                let _ = stream.flush().await;
                return Outcome::Reset;
            }
            // Listener-level faults. A request that slipped in on a connection accepted
            // before the switch gets what a dead server gives: no answer, the connection
            // closes (the acceptor closes them all a moment later anyway).
            Fault::Down => return Outcome::Close,
            Fault::Flapping { .. } => {
                if down_now(&sh.fault.lock(), Instant::now()).0 {
                    return Outcome::Close;
                }
            }
        }
    }

    let (resp, after) = route(sh, req, partner.as_ref());
    let after = match after {
        Some(After::SwitchBeforeAnswer(f)) => {
            sh.set_fault_async(f).await;
            None
        }
        Some(After::SwitchAfterAnswer(f)) => {
            if matches!(f, Some(Fault::Down)) {
                sh.down_pending.store(true, Ordering::SeqCst);
            }
            Some(f)
        }
        None => None,
    };
    record(resp.status);
    let outcome = write(stream, &resp, req.keep_alive).await;
    if let Some(f) = after {
        sh.set_fault_async(f).await;
    }
    outcome
}

async fn write(stream: &mut TcpStream, resp: &Response, keep_alive: bool) -> Outcome {
    match resp.write_to(stream, keep_alive).await {
        Ok(()) if keep_alive => Outcome::Continue,
        _ => Outcome::Close,
    }
}

/// The padding of oversized bodies, written in chunks of this size.
static PADDING: [u8; 64 * 1024] = [b'x'; 64 * 1024];

async fn stream_oversized(stream: &mut TcpStream, bytes: u64, keep_alive: bool) -> Outcome {
    let resp = Response::new(200, "application/json", Vec::new());
    if stream
        .write_all(&resp.head(keep_alive, bytes))
        .await
        .is_err()
    {
        return Outcome::Close;
    }
    // `{"padding":"xxxx..."}` when it fits, else just `x`s.
    let (open, close): (&[u8], &[u8]) = if bytes >= 16 {
        (br#"{"padding":""#, br#""}"#)
    } else {
        (b"", b"")
    };
    let mut left = bytes;
    if stream.write_all(open).await.is_err() {
        return Outcome::Close;
    }
    left -= open.len() as u64;
    while left > close.len() as u64 {
        let n = (left - close.len() as u64).min(PADDING.len() as u64) as usize;
        if stream.write_all(&PADDING[..n]).await.is_err() {
            return Outcome::Close;
        }
        left -= n as u64;
    }
    if stream.write_all(close).await.is_err() || stream.flush().await.is_err() || !keep_alive {
        return Outcome::Close;
    }
    Outcome::Continue
}

fn problem(code: ProblemCode, detail: &str) -> Response {
    Response::problem(&Problem::new(code, detail))
}

fn method_not_allowed(allow: &'static str) -> Response {
    problem(
        ProblemCode::MethodNotAllowed,
        &format!("allowed methods: {allow}"),
    )
    .with_header("Allow", allow)
}

fn route(
    sh: &Arc<Shared>,
    req: &Request,
    partner: Option<&PartnerConfig>,
) -> (Response, Option<After>) {
    let m = req.method.as_str();
    let resp = match req.path.as_str() {
        api::CHECKS_PATH => match m {
            "POST" => checks(sh, req, partner),
            _ => method_not_allowed("POST"),
        },
        api::HEALTH_PATH => match m {
            "GET" => Response::json(
                200,
                &Health {
                    status: "ok".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
            ),
            _ => method_not_allowed("GET"),
        },
        api::KEYS_PATH | api::REVOCATIONS_PATH => match m {
            "GET" => match sh.check_optional_credentials(req) {
                Ok(()) => signed_document(sh, req.path == api::KEYS_PATH),
                Err(refused) => refused,
            },
            _ => method_not_allowed("GET"),
        },
        "/admin/sample" => match m {
            "GET" => admin_sample(sh, req),
            _ => method_not_allowed("GET"),
        },
        "/admin/fault" => match m {
            "GET" => Response::json(
                200,
                &FaultBody {
                    fault: sh.current_fault(),
                },
            ),
            "PUT" => return admin_put_fault(req),
            "DELETE" => {
                return (
                    Response::no_content(),
                    Some(After::SwitchBeforeAnswer(None)),
                );
            }
            _ => method_not_allowed("GET, PUT, DELETE"),
        },
        "/admin/root-key" => match m {
            "GET" => match &sh.issuer {
                Some(i) => Response::json(
                    200,
                    &serde_json::from_str::<serde_json::Value>(&i.root_key_json())
                        .unwrap_or_default(),
                ),
                None => problem(ProblemCode::NotFound, "no issuer configured"),
            },
            _ => method_not_allowed("GET"),
        },
        "/admin/tokens" => match m {
            "POST" => admin_mint(sh, req),
            _ => method_not_allowed("POST"),
        },
        "/admin/revocations" => match m {
            "POST" => admin_revoke(sh, req),
            _ => method_not_allowed("POST"),
        },
        "/admin/accounting" => match m {
            "GET" => Response::json(200, &*sh.accounting.lock()),
            "DELETE" => {
                reset_accounting(sh);
                Response::no_content()
            }
            _ => method_not_allowed("GET, DELETE"),
        },
        _ => problem(ProblemCode::NotFound, "no such endpoint"),
    };
    (resp, None)
}

pub(crate) fn reset_accounting(sh: &Shared) {
    let mut a = sh.accounting.lock();
    let mut fresh = Accounting::default();
    for id in a.partners.keys() {
        fresh
            .partners
            .insert(id.clone(), PartnerAccounting::default());
    }
    *a = fresh;
}

#[derive(serde::Serialize)]
struct FaultBody {
    fault: Option<Fault>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    nik: String,
    partner: String,
}

/// `POST /admin/tokens {"nik", "partner"}`: a token as a citizen's wallet would hold it.
fn admin_mint(sh: &Shared, req: &Request) -> Response {
    let Body::Bytes(body) = &req.body else {
        return problem(ProblemCode::PayloadTooLarge, "body too large");
    };
    let Some(issuer) = &sh.issuer else {
        return problem(ProblemCode::NotFound, "no issuer configured");
    };
    let Ok(m) = serde_json::from_slice::<MintBody>(body) else {
        return problem(
            ProblemCode::InvalidInput,
            "body must be {\"nik\": \"...\", \"partner\": \"...\"}",
        );
    };
    match sh.registry.get_digits(&m.nik) {
        Some(p) if p.active => match issuer.mint(p, &[m.partner]) {
            Some(token) => Response::json(200, &serde_json::json!({ "token": token })),
            None => problem(ProblemCode::Internal, "cannot mint a token"),
        },
        _ => problem(ProblemCode::NotFound, "no active record with this NIK"),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    nik: Option<String>,
}

/// `POST /admin/revocations {"jti"}` or `{"nik"}`.
fn admin_revoke(sh: &Shared, req: &Request) -> Response {
    let Body::Bytes(body) = &req.body else {
        return problem(ProblemCode::PayloadTooLarge, "body too large");
    };
    let Some(issuer) = &sh.issuer else {
        return problem(ProblemCode::NotFound, "no issuer configured");
    };
    match serde_json::from_slice::<RevokeBody>(body) {
        Ok(RevokeBody { jti: Some(j), .. }) => issuer.revoke_token(&j),
        Ok(RevokeBody { nik: Some(n), .. }) => issuer.revoke_person(&n),
        _ => {
            return problem(
                ProblemCode::InvalidInput,
                "body must be {\"jti\": \"...\"} or {\"nik\": \"...\"}",
            );
        }
    }
    Response::no_content()
}

fn admin_put_fault(req: &Request) -> (Response, Option<After>) {
    let Body::Bytes(body) = &req.body else {
        return (
            problem(ProblemCode::PayloadTooLarge, "body too large"),
            None,
        );
    };
    let fault: Fault = match serde_json::from_slice(body) {
        Ok(f) => f,
        Err(_) => {
            return (
                problem(
                    ProblemCode::InvalidInput,
                    "body must be a fault object such as {\"kind\":\"down\"}",
                ),
                None,
            );
        }
    };
    if let Err(e) = fault.validate() {
        return (problem(ProblemCode::InvalidInput, &e), None);
    }
    let resp = Response::json(
        200,
        &FaultBody {
            fault: Some(fault.clone()),
        },
    );
    if matches!(fault, Fault::Down | Fault::Flapping { .. }) {
        // These close this very connection: answer first, then switch.
        (resp, Some(After::SwitchAfterAnswer(Some(fault))))
    } else {
        (resp, Some(After::SwitchBeforeAnswer(Some(fault))))
    }
}

fn admin_sample(sh: &Shared, req: &Request) -> Response {
    let n = match req.query_param("n").map(str::parse::<usize>) {
        None => 5,
        Some(Ok(n)) if n <= MAX_SAMPLE => n,
        Some(_) => {
            return problem(ProblemCode::InvalidInput, "n must be an integer 0-1000");
        }
    };
    let active = match req.query_param("active") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return problem(ProblemCode::InvalidInput, "active must be true or false"),
    };
    Response::json(200, &sh.registry.sample_where(n, active))
}

fn signed_document(sh: &Shared, keys: bool) -> Response {
    let doc = sh.attester.as_ref().and_then(|a| {
        if keys {
            a.keys_document()
        } else {
            a.revocations_document()
        }
    });
    match doc {
        Some(jws) => Response::json(200, &SignedDocument { jws }),
        None => problem(ProblemCode::NotFound, "no issuer configured"),
    }
}

/// Idempotency keys: 1-128 characters of `[A-Za-z0-9-_.:]`.
pub(crate) fn valid_idempotency_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= api::MAX_IDEMPOTENCY_KEY_LEN
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn is_json_content_type(ct: &str) -> bool {
    let media = ct.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
}

fn checks(sh: &Shared, req: &Request, partner: Option<&PartnerConfig>) -> Response {
    // 401 / 403
    let partner = match partner {
        Some(p) => p,
        None => {
            let p = sh
                .partner_of(req)
                .err()
                .unwrap_or_else(|| Problem::new(ProblemCode::Unauthorized, "unknown API key"));
            return Response::problem(&p).with_header("WWW-Authenticate", "Bearer");
        }
    };
    if let Err(p) = sh.check_partner_header(req, partner) {
        return Response::problem(&p);
    }
    if partner.suspended {
        return problem(ProblemCode::Forbidden, "partner is suspended");
    }
    // 400: idempotency key
    let Some(idem_key) = req.header(api::IDEMPOTENCY_KEY_HEADER) else {
        return problem(ProblemCode::InvalidInput, "missing Idempotency-Key header");
    };
    if !valid_idempotency_key(idem_key) {
        return problem(
            ProblemCode::InvalidInput,
            "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 - _ . :",
        );
    }
    // 413
    let Body::Bytes(body) = &req.body else {
        return problem(
            ProblemCode::PayloadTooLarge,
            "request body exceeds 16384 bytes",
        );
    };
    // 415
    if !req.header("content-type").is_some_and(is_json_content_type) {
        return problem(
            ProblemCode::UnsupportedMediaType,
            "Content-Type must be application/json",
        );
    }
    // 400: body
    let check: CheckRequest = match serde_json::from_slice(body) {
        Ok(c) => c,
        Err(e) => {
            // serde_json messages can quote values: report only the position.
            return problem(
                ProblemCode::InvalidInput,
                &format!(
                    "body is not a valid check request (JSON {} error at line {}, column {})",
                    match e.classify() {
                        serde_json::error::Category::Io => "io",
                        serde_json::error::Category::Syntax => "syntax",
                        serde_json::error::Category::Data => "data",
                        serde_json::error::Category::Eof => "eof",
                    },
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    let query =
        match andal::Query::parse(&check.nik, &check.full_name, &check.birth_date).and_then(|q| {
            match &check.birth_place {
                Some(bp) => q.with_birth_place(bp.clone()),
                None => Ok(q),
            }
        }) {
            Ok(q) => q,
            // InputError messages never echo the input.
            Err(e) => return problem(ProblemCode::InvalidInput, &e.to_string()),
        };
    let fingerprint = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(&check)
            .unwrap_or_default()
            .hash(&mut h);
        h.finish()
    };

    // Idempotency: one global lock makes concurrent duplicates wait for the first.
    let map_key = (partner.partner_id.clone(), idem_key.to_owned());
    let mut store = sh.idem.lock();
    let now = Instant::now();
    if let Some(e) = store.map.get(&map_key)
        && now.duration_since(e.created) < sh.idem_ttl
    {
        if e.fingerprint != fingerprint {
            return problem(
                ProblemCode::IdempotencyKeyReused,
                "Idempotency-Key already used with a different request body",
            );
        }
        let body = Arc::clone(&e.body);
        drop(store);
        sh.accounting
            .lock()
            .partners
            .entry(partner.partner_id.clone())
            .or_default()
            .idempotent_replays += 1;
        tracing::debug!(partner = %partner.partner_id, "idempotent replay");
        return Response::new(200, "application/json", body.to_vec())
            .with_header("Idempotent-Replayed", "true");
    }
    let response = evaluate(sh, &partner.partner_id, &query);
    let body = Arc::new(serde_json::to_vec(&response).unwrap_or_default());
    store.inserts += 1;
    if store.inserts.is_multiple_of(1024) {
        let ttl = sh.idem_ttl;
        store.map.retain(|_, e| now.duration_since(e.created) < ttl);
    }
    store.map.insert(
        map_key,
        IdemEntry {
            fingerprint,
            body: Arc::clone(&body),
            created: now,
        },
    );
    sh.accounting
        .lock()
        .partners
        .entry(partner.partner_id.clone())
        .or_default()
        .accesses_charged += 1;
    drop(store);
    tracing::info!(
        partner = %partner.partner_id,
        nik = %query.nik(),
        verdict = %response.verdict,
        "check answered"
    );
    Response::new(200, "application/json", body.to_vec())
}

fn place_key(s: &str) -> String {
    let n = normalize_name(s);
    for prefix in ["KABUPATEN ", "KAB ", "KOTA "] {
        if let Some(rest) = n.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return rest.to_owned();
        }
    }
    n
}

fn registry_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn evaluate(sh: &Shared, partner: &str, q: &andal::Query) -> CheckResponse {
    let person: Option<&Person> = sh.registry.get(q.nik());
    let (verdict, fields, attestation) = match person {
        None => (Verdict::NotFound, FieldResults::not_checked(), None),
        Some(p) if !p.active => (
            Verdict::InactiveRecord,
            FieldResults {
                nik: FieldMatch::Sesuai,
                ..FieldResults::not_checked()
            },
            None,
        ),
        Some(p) => {
            let fields = FieldResults {
                nik: FieldMatch::Sesuai,
                full_name: FieldMatch::from_bool(
                    normalize_name(&p.full_name) == q.normalized_name(),
                ),
                birth_date: FieldMatch::from_bool(p.birth_date == q.birth_date()),
                birth_place: q.birth_place().map_or(FieldMatch::NotChecked, |bp| {
                    FieldMatch::from_bool(place_key(bp) == place_key(p.birth_place))
                }),
            };
            let all = [fields.full_name, fields.birth_date, fields.birth_place];
            if all.contains(&FieldMatch::TidakSesuai) {
                (Verdict::Mismatch, fields, None)
            } else {
                let att = sh.attester.as_ref().and_then(|a| a.attest(partner, p));
                (Verdict::Match, fields, att)
            }
        }
    };
    let n = sh.request_counter.fetch_add(1, Ordering::Relaxed) + 1;
    CheckResponse {
        request_id: format!("sbx-{}-{n:08}", sh.instance),
        verdict,
        fields,
        registry_time: registry_time(),
        attestation,
    }
}
