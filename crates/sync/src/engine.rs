//! One sync with one server (SYNC.md, "Protocol"): hello, push what the server lacks (from the
//! server's marks, not from flags of our own), pull pages after our cursor (each applied together with
//! the cursor's move, in short transactions so the app's own writes never wait long), have the audit
//! chain's head signed, and now and then compare day-by-day summaries. Pairing a PC with a server.
//! `Engine` runs syncs in the background every few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use lifeboat_core::replica::apply::Applied;
use lifeboat_core::replica::peers::{NewPeer, Peer};
use lifeboat_core::{Session, Store};
use lifeboat_protocol::pairing::PairingCode;
use lifeboat_protocol::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::{Client, Pin};
use crate::error::{SyncError, SyncResult};

/// Changes per page of a pull, and per push.
pub const PAGE: u32 = 2000;
/// Changes applied per transaction when a caller fixes it (0: sized to take about `APPLY_TARGET`).
pub const APPLY_CHUNK: usize = 0;
/// How long one transaction of received changes should take. The app's own writes do not wait for
/// all of it: a transaction ends early, after the change in hand, when one comes
/// (`Store::apply_page`); they wait for that change, the batch's closing work (changes kept aside
/// tried again, the conflict checks) and the commit.
pub const APPLY_TARGET: Duration = Duration::from_millis(15);

/// How one sync runs.
#[derive(Clone)]
pub struct SyncOptions {
    /// Also compare day-by-day summaries with the server (and repair by pulling again).
    pub verify: bool,
    pub page: u32,
    /// Changes per transaction when applying; 0 sizes transactions by time (`APPLY_TARGET`).
    pub apply_chunk: usize,
    /// Faults to inject (tests only).
    pub faults: Option<Arc<crate::client::Faults>>,
    /// Send what the server lacks (normally on).
    pub push: bool,
    /// Fetch what this PC lacks (normally on).
    pub pull: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { verify: false, page: PAGE, apply_chunk: APPLY_CHUNK, faults: None, push: true, pull: true }
    }
}

impl SyncOptions {
    pub fn verifying() -> SyncOptions {
        SyncOptions { verify: true, ..SyncOptions::default() }
    }
}

/// Runs a store call off the async threads.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> lifeboat_core::Result<T> + Send + 'static,
) -> SyncResult<T> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| SyncError::Internal(e.to_string()))??)
}

/// Where a sync has got to, for a progress bar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// `connecting`, `sending`, `receiving`, `checking`.
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub pushed: u64,
    pub pulled: u64,
    pub applied: Applied,
    /// Set when the server's store was found new or restored (everything is pulled again).
    pub restarted: bool,
    /// Set when this PC's clock differs from the server's by more than five minutes.
    pub clock_warning: Option<String>,
    /// Set when this PC's audit log no longer reaches what the server signed.
    pub audit_warning: Option<String>,
    /// Days on which verify found the server and this PC disagree (after repair, still).
    pub verify_differing: Vec<String>,
    /// Set when this PC's database turned out to be an older copy (restored from a backup): it took a
    /// new node id before making more changes.
    pub restored: bool,
}

fn add(total: &mut Applied, more: &Applied) {
    total.new += more.new;
    total.duplicates += more.duplicates;
    total.quarantined += more.quarantined;
    total.conflicts += more.conflicts;
    if more.clock_warning.is_some() {
        total.clock_warning = more.clock_warning.clone();
    }
}

/// Checks a receipt's signature against the key pinned at pairing.
pub fn check_receipt(receipt: &Receipt, server_key: &str) -> SyncResult<()> {
    let bad = || SyncError::Protocol("the server's receipt for the audit log is not signed by its key".into());
    if !receipt.server_key.eq_ignore_ascii_case(server_key) {
        return Err(bad());
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(server_key, &mut key).map_err(|_| bad())?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&receipt.signature, &mut sig).map_err(|_| bad())?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad())?;
    key.verify(receipt.signed_text().as_bytes(), &Signature::from_bytes(&sig)).map_err(|_| bad())
}

/// One sync with `peer`. `verify` also compares day-by-day summaries (and repairs by pulling again).
pub async fn sync_once(
    store: &Arc<Store>,
    peer_id: Uuid,
    options: &SyncOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> SyncResult<Report> {
    let result = sync_inner(store, peer_id, options, progress).await;
    let note = result.as_ref().err().map(|e| e.to_string());
    blocking(store, move |s| s.note_sync_attempt(peer_id, note.as_deref())).await?;
    result
}

async fn sync_inner(
    store: &Arc<Store>,
    peer_id: Uuid,
    options: &SyncOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> SyncResult<Report> {
    let peer = blocking(store, move |s| s.peer(peer_id)).await?;
    let token = blocking(store, move |s| s.peer_token(peer_id)).await?;
    let client =
        Client::new(&peer.url, Pin::Exact(peer.cert_sha256.clone()), Some(token))?.with_faults(options.faults.clone());
    let mut report = Report::default();
    progress(Progress { phase: "connecting".into(), done: 0, total: 0 });
    let hello = client.hello().await?;
    check_hello(store, &peer, &hello, &mut report).await?;
    if options.push {
        push_all(store, &client, hello.marks.clone(), options, &mut report, progress).await?;
    }
    if options.pull {
        pull_all(store, &client, peer_id, options, &mut report, progress).await?;
    }
    if options.verify {
        progress(Progress { phase: "checking".into(), done: 0, total: 0 });
        let today = store.clock().now().date_naive().to_string();
        let days = blocking(store, |s| s.day_summaries()).await?;
        let differing = client.verify(days, today.clone()).await?.differing;
        if !differing.is_empty() {
            // Something was missed on one side: pull everything again and push from fresh marks
            // (both idempotent), then compare once more.
            let epoch = blocking(store, move |s| s.peer(peer_id)).await?.epoch;
            blocking(store, move |s| s.reset_pull_cursor(peer_id, &epoch)).await?;
            let marks = client.hello().await?.marks;
            push_all(store, &client, marks, options, &mut report, progress).await?;
            pull_all(store, &client, peer_id, options, &mut report, progress).await?;
            let days = blocking(store, |s| s.day_summaries()).await?;
            report.verify_differing = client.verify(days, today).await?.differing;
        }
    }
    // The audit chain's head, signed by the server: a later cut or rewrite shows against it.
    let (seq, head_hash) = blocking(store, |s| s.audit_head()).await?;
    let last = blocking(store, |s| s.last_receipt()).await?;
    // Never while the server's last receipt does not match this chain: signing the rewritten head
    // would launder it.
    if report.audit_warning.is_none() && seq > 0 && last.as_ref().is_none_or(|r| r.audit_seq < seq) {
        let node_id = store.node_id();
        let receipt = client.audit_head(&AuditHead { node_id, audit_seq: seq, head_hash }).await?;
        check_receipt(&receipt, &peer.server_key)?;
        blocking(store, move |s| s.store_receipt(&receipt)).await?;
    }
    let marks = client.hello().await?.marks;
    blocking(store, move |s| s.set_peer_marks(peer_id, &marks)).await?;
    Ok(report)
}

async fn check_hello(store: &Arc<Store>, peer: &Peer, hello: &HelloReply, report: &mut Report) -> SyncResult<()> {
    if hello.practice_id != peer.practice_id {
        return Err(SyncError::Protocol(format!(
            "the server at {} now serves another practice ({}): pair this PC again",
            peer.url, hello.practice_name
        )));
    }
    let marks = hello.marks.clone();
    if blocking(store, move |s| s.retire_node_if_behind(&marks)).await? {
        report.restored = true;
    }
    let epoch = hello.epoch.to_string();
    if peer.epoch != epoch {
        report.restarted = !peer.epoch.is_empty();
        let id = peer.id;
        blocking(store, move |s| s.reset_pull_cursor(id, &epoch)).await?;
    }
    if let Ok(server_time) = chrono::DateTime::parse_from_rfc3339(&hello.time) {
        let off = (store.clock().now() - server_time.with_timezone(&chrono::Utc)).num_minutes();
        if off.abs() > 5 {
            report.clock_warning = Some(format!(
                "this PC's clock is {} minutes {} the server's: correct it (Windows: Settings, Time, Sync now)",
                off.abs(),
                if off > 0 { "ahead of" } else { "behind" }
            ));
        }
    }
    if let Some(receipt) = &hello.receipt {
        check_receipt(receipt, &peer.server_key)?;
        let receipt = receipt.clone();
        let signed_at = receipt.signed_at.clone();
        let warning = match blocking(store, move |s| s.store_receipt(&receipt)).await {
            Ok(()) => None,
            Err(e) => Some(format!(
                "this PC's audit log no longer reaches what the server signed on {signed_at}: it was cut short or rewritten ({e}); run lifeboat verify and tell IT"
            )),
        };
        report.audit_warning = warning.clone();
        blocking(store, move |s| s.note_audit_warning(warning.as_deref())).await?;
    }
    Ok(())
}

async fn push_all(
    store: &Arc<Store>,
    client: &Client,
    marks: Vec<Mark>,
    options: &SyncOptions,
    report: &mut Report,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> SyncResult<()> {
    let mut marks: HashMap<Uuid, i64> = marks.into_iter().map(|m| (m.node_id, m.seq)).collect();
    let as_list = |m: &HashMap<Uuid, i64>| m.iter().map(|(n, s)| Mark { node_id: *n, seq: *s }).collect::<Vec<_>>();
    let list = as_list(&marks);
    let total = blocking(store, move |s| s.count_missing_from(&list)).await?;
    let mut done = 0u64;
    let mut refusals = 0;
    let page = options.page;
    let list = as_list(&marks);
    let mut batch = blocking(store, move |s| s.changes_to_push(&list, page)).await?;
    loop {
        if batch.is_empty() {
            return Ok(());
        }
        progress(Progress { phase: "sending".into(), done, total: total.max(done) });
        if batch.len() > 1 && client.faults().is_some_and(|f| f.roll(f.reorder)) {
            // A test's fault: the second half first. The server refuses the gap.
            let second = batch.split_off(batch.len() / 2);
            batch = second;
        }
        let sent: Vec<(Uuid, i64)> = batch.iter().map(|c| (c.node_id, c.node_seq)).collect();
        // For each node, the change before the first one sent: the server checks it holds the same.
        let mut firsts: Vec<(Uuid, i64)> = Vec::new();
        for c in &batch {
            if c.node_seq > 1 && !firsts.iter().any(|(n, _)| *n == c.node_id) {
                firsts.push((c.node_id, c.node_seq - 1));
            }
        }
        let tips = blocking(store, move |s| s.tips(&firsts)).await?;
        // The next batch is read from the journal while this one is sent, from the marks the server
        // will hold once it has taken this one; if it refuses, the batch read ahead is dropped.
        let mut after = marks.clone();
        for (node, seq) in &sent {
            after.insert(*node, *seq);
        }
        let list = as_list(&after);
        let (pushed, ahead) =
            tokio::join!(client.push(batch, tips), blocking(store, move |s| s.changes_to_push(&list, page)));
        match pushed {
            Ok(reply) => {
                done += sent.len() as u64;
                marks = after;
                report.pushed += u64::from(reply.stored);
                batch = ahead?;
            }
            Err(SyncError::Refused(_)) if refusals < 10 => {
                // Our idea of the server's marks was stale (another PC pushed the same changes, or
                // a batch arrived out of order): ask again and carry on from its marks.
                refusals += 1;
                marks = client.hello().await?.marks.into_iter().map(|m| (m.node_id, m.seq)).collect();
                let list = as_list(&marks);
                batch = blocking(store, move |s| s.changes_to_push(&list, page)).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Pulls every page the server holds past this PC's cursor, then lets search take in the clients the
/// pages touched (also when the pull stopped part-way: what did arrive is found).
async fn pull_all(
    store: &Arc<Store>,
    client: &Client,
    peer_id: Uuid,
    options: &SyncOptions,
    report: &mut Report,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> SyncResult<()> {
    let pulled = pull_pages(store, client, peer_id, options, report, progress).await;
    let indexed = index_pending(store).await;
    pulled.and(indexed)
}

/// Rewrites the search index's words of the clients pulled pages touched, in transactions each
/// sized to take about `APPLY_TARGET`, like the pages' own.
async fn index_pending(store: &Arc<Store>) -> SyncResult<()> {
    let mut size = 50usize;
    loop {
        let at_most = size;
        let (done, held) = blocking(store, move |s| s.index_pending(at_most)).await?;
        if done < at_most {
            return Ok(());
        }
        size = next_size(size, done, held, 5000);
    }
}

/// The next transaction's size: as many as would take `APPLY_TARGET` at the pace of the last (`done`
/// in `held`, the time it held the database, not the time it waited for it), at most double or half
/// the last, and within 10..=`most`.
fn next_size(size: usize, done: usize, held: Duration, most: usize) -> usize {
    let ideal = (done as f64 * APPLY_TARGET.as_secs_f64() / held.as_secs_f64().max(1e-4)) as usize;
    ideal.clamp(10, most).min(size * 2).max(size / 2)
}

async fn pull_pages(
    store: &Arc<Store>,
    client: &Client,
    peer_id: Uuid,
    options: &SyncOptions,
    report: &mut Report,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> SyncResult<()> {
    let mut restarted = false;
    let mut size = if options.apply_chunk == 0 { 100 } else { options.apply_chunk };
    let mut page = pull_from_stored_cursor(store, client, peer_id, options, report, &mut restarted, false).await?;
    loop {
        let Some(last) = page.changes.last() else { return Ok(()) };
        let (done, total) = (last.seq, page.last_seq.max(last.seq));
        // The next page is fetched (and decoded) while this one is applied: the network and the
        // database work at once. The cursor it asks from is the one this page's last transaction
        // stores; if applying fails, the page fetched ahead is dropped and the next sync asks again
        // from the stored cursor.
        let ahead = Pull { after: last.seq, after_op: Some(last.change.op_id), limit: options.page };
        let (next, applied) =
            tokio::join!(client.pull(&ahead), apply_pulled(store, peer_id, page.changes, options, &mut size, report));
        applied?;
        progress(Progress { phase: "receiving".into(), done: done as u64, total: total as u64 });
        page = match next {
            Ok(page) => page,
            // The server was restored from an older backup in the middle of the pull.
            Err(SyncError::CursorUnknown(_)) if !restarted => {
                pull_from_stored_cursor(store, client, peer_id, options, report, &mut restarted, true).await?
            }
            Err(e) => return Err(e),
        };
    }
}

/// The first page after this PC's stored cursor; when the server does not know the cursor (it was
/// restored from an older backup), the cursor goes back to the start, once. `reset` starts there.
async fn pull_from_stored_cursor(
    store: &Arc<Store>,
    client: &Client,
    peer_id: Uuid,
    options: &SyncOptions,
    report: &mut Report,
    restarted: &mut bool,
    reset: bool,
) -> SyncResult<PullPage> {
    let mut reset = reset;
    loop {
        let peer = blocking(store, move |s| s.peer(peer_id)).await?;
        if reset {
            *restarted = true;
            report.restarted = true;
            let epoch = peer.epoch.clone();
            blocking(store, move |s| s.reset_pull_cursor(peer_id, &epoch)).await?;
            reset = false;
            continue;
        }
        match client.pull(&Pull { after: peer.pull_cursor, after_op: peer.pull_op, limit: options.page }).await {
            Ok(page) => return Ok(page),
            Err(SyncError::CursorUnknown(_)) if !*restarted => reset = true,
            Err(e) => return Err(e),
        }
    }
}

/// Applies one pulled page, in transactions each sized to take about `APPLY_TARGET` (unless the
/// options fix the size), so that the app's own writes, which wait for them, never wait long.
async fn apply_pulled(
    store: &Arc<Store>,
    peer_id: Uuid,
    changes: Vec<Sequenced>,
    options: &SyncOptions,
    size: &mut usize,
    report: &mut Report,
) -> SyncResult<()> {
    let n = changes.len() as u64;
    let mut rest = &changes[..];
    while !rest.is_empty() {
        let chunk = rest[..(*size).min(rest.len())].to_vec();
        let given = chunk.len();
        let applied = match blocking(store, move |s| s.apply_page(peer_id, &chunk)).await {
            Ok(a) => a,
            Err(SyncError::Store(lifeboat_core::Error::SyncRefused(m))) if m.contains("used sequence number") => {
                let own = blocking(store, |s| s.own_nodes()).await?;
                if own.iter().any(|n| m.contains(&n.to_string())) {
                    return Err(SyncError::Refused(
                        "this PC's database was put back from an older copy, and changes made on it since clash with changes already shared: they stay on this PC; ask IT before going on"
                            .into(),
                    ));
                }
                return Err(SyncError::Refused(m));
            }
            Err(e) => return Err(e),
        };
        // (A transaction that gave way to the person's write took fewer; the rest go in the next.)
        let taken = applied.taken;
        if taken == 0 || taken > given {
            return Err(SyncError::Internal(format!("a transaction took {taken} of the {given} changes it was given")));
        }
        rest = &rest[taken..];
        add(&mut report.applied, &applied);
        if options.apply_chunk == 0 && taken == given {
            *size = next_size(*size, taken, applied.held, 2000);
        }
    }
    report.pulled += n;
    Ok(())
}

/// Pairs this PC with a server: checks the server's certificate against the pairing code before
/// sending the code, enrols, and records the server with its whole fingerprint pinned. `session` is
/// `None` only for a PC that holds no practice yet (joining one).
pub async fn pair(
    store: &Arc<Store>,
    session: Option<Session>,
    name: &str,
    address: &str,
    code: &str,
    device_name: &str,
) -> SyncResult<Peer> {
    let pairing = PairingCode::parse(address, code).map_err(SyncError::Invalid)?;
    let client = Client::new(&pairing.url, Pin::Prefix(pairing.fingerprint_prefix.clone()), None)?;
    let local = blocking(store, |s| s.practice_summary()).await?;
    let enrolled = client
        .enrol(&Enrol {
            protocol: PROTOCOL_VERSION,
            code: pairing.enrol_code.clone(),
            device_name: device_name.to_string(),
            node_id: store.node_id(),
        })
        .await
        .map_err(|e| match e {
            SyncError::NotPaired(m) => SyncError::Invalid(m),
            other => other,
        })?;
    if let Some((id, local_name)) = local {
        if id != enrolled.practice_id {
            return Err(SyncError::Invalid(format!(
                "that code is for {} at the server, but this PC holds {local_name}: ask for a code for {local_name}",
                enrolled.practice_name
            )));
        }
    }
    let fingerprint = client.seen_fingerprint().ok_or_else(|| SyncError::Internal("no certificate was seen".into()))?;
    let new = NewPeer { name: name.to_string(), url: pairing.url, cert_sha256: fingerprint, enrolled };
    blocking(store, move |s| s.add_peer(session.as_ref(), &new)).await
}

/// The state of background sync, for the banner and the sync page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub running: bool,
    pub progress: Option<Progress>,
    pub last_report: Option<Report>,
    /// The last error of each peer (cleared by its next success).
    pub errors: Vec<(Uuid, String)>,
}

/// Background sync: every `interval`, or at once when asked, sync with each enabled peer in turn;
/// a peer that cannot be reached is tried again next time, and the PC carries on alone meanwhile.
pub struct Engine {
    store: Arc<Store>,
    /// One sync at a time: two syncs with one server would race for its pull cursor.
    busy: tokio::sync::Mutex<()>,
    state: Mutex<EngineState>,
    wake: tokio::sync::Notify,
    stop: std::sync::atomic::AtomicBool,
}

/// How often the day-by-day comparison runs (it reads the whole journal).
const VERIFY_EVERY: Duration = Duration::from_secs(3600);

impl Engine {
    pub fn new(store: Arc<Store>) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            busy: tokio::sync::Mutex::new(()),
            state: Mutex::new(EngineState::default()),
            wake: tokio::sync::Notify::new(),
            stop: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn state(&self) -> EngineState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Syncs now ("Sync now").
    pub fn sync_now(&self) {
        self.wake.notify_one();
    }

    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Runs until stopped.
    pub async fn run(self: Arc<Engine>, interval: Duration) {
        let mut last_verify: Option<Instant> = None;
        while !self.stop.load(std::sync::atomic::Ordering::SeqCst) {
            self.round(&mut last_verify).await;
            let _ = tokio::time::timeout(interval, self.wake.notified()).await;
        }
    }

    /// One sync with one peer now, waiting for a background round in progress to end first.
    pub async fn sync_one(&self, peer: Uuid, options: &SyncOptions) -> SyncResult<Report> {
        let _turn = self.busy.lock().await;
        sync_once(&self.store, peer, options, &|_| {}).await
    }

    /// One round over the enabled peers.
    pub async fn round(self: &Arc<Engine>, last_verify: &mut Option<Instant>) {
        let _turn = self.busy.lock().await;
        let Ok(peers) = blocking(&self.store, |s| s.peers()).await else { return };
        let verify = last_verify.is_none_or(|t| t.elapsed() > VERIFY_EVERY);
        let mut all_ok = true;
        for peer in peers.into_iter().filter(|p| p.enabled) {
            self.update(|s| {
                s.running = true;
                s.progress = Some(Progress { phase: "connecting".into(), done: 0, total: 0 });
            });
            let me = self.clone();
            let options = SyncOptions { verify, ..SyncOptions::default() };
            let report = sync_once(&self.store, peer.id, &options, &move |p| me.update(|s| s.progress = Some(p))).await;
            self.update(|s| {
                s.errors.retain(|(id, _)| *id != peer.id);
                match report {
                    Ok(r) => s.last_report = Some(r),
                    Err(e) => {
                        all_ok = false;
                        s.errors.push((peer.id, e.to_string()));
                    }
                }
            });
        }
        if verify && all_ok {
            *last_verify = Some(Instant::now());
        }
        self.update(|s| {
            s.running = false;
            s.progress = None;
        });
    }

    fn update(&self, f: impl FnOnce(&mut EngineState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
