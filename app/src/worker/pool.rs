//! The page's pool of segmentation workers (main thread side): jobs wait in one queue and go to
//! the first idle worker; a worker that crashes (a panic, out of memory, killed) is replaced,
//! and its job is retried once elsewhere unless the worker said it panicked on it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::protocol::{Ask, Request};
use super::wire::{get, get_f64, get_string, pack, set, unpack};
use crate::inference::DeviceRequest;

/// The worker script, copied next to the page by trunk.
const WORKER_URL: &str = "worker.js";
/// Replacements allowed for workers that crash before they are ready (a broken set-up would
/// otherwise restart them for ever).
const MAX_FAILED_STARTS: usize = 4;

/// Why a job did not produce a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// The worker read the job and said why it failed (not an image, a model error).
    Failed(String),
    /// The worker crashed on it (twice, or said it panicked while reading `file`).
    Crashed { why: String, file: Option<String> },
    Cancelled,
    /// No worker is left to run it.
    NoWorkers(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Failed(e) => write!(f, "{e}"),
            JobError::Crashed { why, .. } => write!(f, "the page's worker crashed on this file ({why})"),
            JobError::Cancelled => write!(f, "cancelled"),
            JobError::NoWorkers(e) => write!(f, "no worker can segment it: {e}"),
        }
    }
}

/// What a worker reported once its model was loaded and warm.
#[derive(Debug, Clone)]
pub struct Ready {
    pub backend: String,
    pub warm_ms: f64,
    pub memory_bytes: f64,
    /// The model file's header, as JSON.
    pub meta: String,
}

/// A worker's `done` message, unpacked by [`Pool::ask`] into the request's reply type.
type ReplySender = oneshot::Sender<Result<JsValue, JobError>>;

struct Job {
    id: u64,
    /// The caller's name for the job (a slice id), for [`Pool::cancel`].
    tag: usize,
    request: Request,
    reply: ReplySender,
    retried: bool,
}

enum SlotState {
    Starting(Option<oneshot::Sender<Result<Ready, String>>>),
    Idle,
    Busy(Job),
}

struct Slot {
    key: u64,
    worker: Worker,
    device: DeviceRequest,
    /// Takes jobs (probes that lose the device choice never do).
    enlisted: bool,
    state: SlotState,
    /// What the worker's panic hook said before it died, and the file it was reading.
    panic: Option<(String, Option<String>)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

struct Inner {
    module: JsValue,
    js_url: String,
    test_hooks: bool,
    slots: Vec<Slot>,
    pending: VecDeque<Job>,
    next_key: u64,
    failed_starts: usize,
    /// Handlers of stopped workers (see [`end`]).
    detached: Vec<Handlers>,
    /// Set when no worker could start at all.
    failed: Option<String>,
    /// Told how many enlisted workers are ready whenever that changes.
    on_change: Option<Rc<dyn Fn(usize)>>,
}

/// A cheap handle; every clone is the same pool.
#[derive(Clone)]
pub struct Pool(Rc<RefCell<Inner>>);

impl Pool {
    /// A pool with no workers yet; `module` is the page's compiled WebAssembly and `js_url` its
    /// wasm-bindgen glue (boot.js leaves both in `globalThis.brainsegWasm`).
    pub fn new(module: JsValue, js_url: String, test_hooks: bool) -> Self {
        Pool(Rc::new(RefCell::new(Inner {
            module,
            js_url,
            test_hooks,
            slots: Vec::new(),
            pending: VecDeque::new(),
            next_key: 0,
            failed_starts: 0,
            failed: None,
            detached: Vec::new(),
            on_change: None,
        })))
    }

    pub fn on_change(&self, f: impl Fn(usize) + 'static) {
        self.0.borrow_mut().on_change = Some(Rc::new(f));
    }

    /// Starts a worker on `device`; resolves once it is ready (or with why it cannot be). An
    /// enlisted worker takes jobs as soon as it is ready.
    /// `timed`: the worker times a warm slice (a second run on WebGPU), for the device choice.
    pub fn spawn(&self, device: DeviceRequest, enlisted: bool, timed: bool) -> (u64, oneshot::Receiver<Result<Ready, String>>) {
        let (tx, rx) = oneshot::channel();
        let key = match spawn_slot(&self.0, device, enlisted, timed, Some(tx)) {
            Ok(key) => key,
            Err(_) => u64::MAX, // the sender is dropped: the receiver resolves as cancelled
        };
        (key, rx)
    }

    /// Lets a probing worker take jobs.
    pub fn enlist(&self, key: u64) {
        let mut inner = self.0.borrow_mut();
        if let Some(slot) = inner.slots.iter_mut().find(|s| s.key == key) {
            slot.enlisted = true;
        }
        dispatch(&mut inner);
        drop(inner);
        changed(&self.0);
    }

    /// Ends a worker that is not needed (a probe that lost the device choice).
    pub fn retire(&self, key: u64) {
        let mut inner = self.0.borrow_mut();
        if let Some(at) = inner.slots.iter().position(|s| s.key == key) {
            let slot = inner.slots.remove(at);
            let slot = end(&mut inner, slot);
            if let SlotState::Busy(job) = slot.state {
                inner.pending.push_front(job);
            }
            dispatch(&mut inner);
        }
    }

    /// Runs `request` when a worker is free and answers its reply. `first`: before every waiting
    /// job, for short jobs the user waits on (a study's masks, an export) that must not queue
    /// behind another study's slices.
    pub async fn ask<A: Ask>(&self, tag: usize, request: A, first: bool) -> Result<A::Reply, JobError> {
        let done = self.submit(tag, request.into(), first).await?;
        unpack::<Result<A::Reply, String>>(&done).map_err(JobError::Failed)?.map_err(JobError::Failed)
    }

    async fn submit(&self, tag: usize, request: Request, first: bool) -> Result<JsValue, JobError> {
        let (reply, rx) = oneshot::channel();
        {
            let mut inner = self.0.borrow_mut();
            let id = inner.next_key;
            inner.next_key += 1;
            let job = Job { id, tag, request, reply, retried: false };
            match inner.failed.clone() {
                Some(reason) => {
                    let _ = job.reply.send(Err(JobError::NoWorkers(reason)));
                }
                None if first => inner.pending.push_front(job),
                None => inner.pending.push_back(job),
            }
            dispatch(&mut inner);
        }
        rx.await.unwrap_or(Err(JobError::Cancelled))
    }

    /// Drops the waiting jobs whose tag `cancel` selects (jobs already in a worker finish).
    pub fn cancel(&self, cancel: impl Fn(usize) -> bool) {
        let mut inner = self.0.borrow_mut();
        let (drop, keep): (VecDeque<Job>, VecDeque<Job>) = inner.pending.drain(..).partition(|j| cancel(j.tag));
        inner.pending = keep;
        drop.into_iter().for_each(|j| {
            let _ = j.reply.send(Err(JobError::Cancelled));
        });
    }

    /// No worker could start: every waiting job (and any later one) fails with `reason`.
    pub fn fail_all(&self, reason: &str) {
        let mut inner = self.0.borrow_mut();
        inner.failed = Some(reason.to_string());
        fail_pending(&mut inner, reason);
    }

    /// Test hook: terminates a busy worker as a crash or the browser's out-of-memory kill would.
    pub fn kill_busy_worker(&self) -> bool {
        let key = self.0.borrow().slots.iter().find(|s| matches!(s.state, SlotState::Busy(_))).map(|s| s.key);
        if let Some(key) = key {
            crashed(&self.0, key, "the worker was stopped".into());
        }
        key.is_some()
    }
}

fn ready_count(inner: &Inner) -> usize {
    inner.slots.iter().filter(|s| s.enlisted && !matches!(s.state, SlotState::Starting(_))).count()
}

fn changed(pool: &Rc<RefCell<Inner>>) {
    let (n, f) = {
        let inner = pool.borrow();
        (ready_count(&inner), inner.on_change.clone())
    };
    if let Some(f) = f {
        f(n);
    }
}

fn spawn_slot(
    pool: &Rc<RefCell<Inner>>,
    device: DeviceRequest,
    enlisted: bool,
    timed: bool,
    ready: Option<oneshot::Sender<Result<Ready, String>>>,
) -> Result<u64, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(WORKER_URL, &options).map_err(|e| crate::browser::describe(&e))?;
    let mut inner = pool.borrow_mut();
    let key = inner.next_key;
    inner.next_key += 1;
    let weak = Rc::downgrade(pool);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| on_message(&weak, key, e.data()));
    let weak = Rc::downgrade(pool);
    let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
        e.prevent_default();
        if let Some(pool) = weak.upgrade() {
            crashed(&pool, key, e.message());
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let init = js_sys::Object::new();
    set(&init, "type", "init");
    set(&init, "js", inner.js_url.clone());
    set(&init, "module", inner.module.clone());
    set(&init, "device", device.name());
    set(&init, "timed", timed);
    set(&init, "testHooks", inner.test_hooks);
    worker.post_message(&init).map_err(|e| crate::browser::describe(&e))?;
    let state = SlotState::Starting(ready);
    inner.slots.push(Slot { key, worker, device, enlisted, state, panic: None, _on_message: on_message, _on_error: on_error });
    Ok(key)
}

fn on_message(pool: &Weak<RefCell<Inner>>, key: u64, data: JsValue) {
    let Some(pool) = pool.upgrade() else { return };
    match get_string(&data, "type").as_deref() {
        Some("ready") => {
            let ready = Ready {
                backend: get_string(&data, "backend").unwrap_or_default(),
                warm_ms: get_f64(&data, "warmMs").unwrap_or(0.0),
                memory_bytes: get_f64(&data, "memoryBytes").unwrap_or(0.0),
                meta: get_string(&data, "meta").unwrap_or_default(),
            };
            with_slot(&pool, key, |slot| {
                if let SlotState::Starting(tx) = std::mem::replace(&mut slot.state, SlotState::Idle) {
                    tx.map(|tx| tx.send(Ok(ready)));
                }
            });
            dispatch(&mut pool.borrow_mut());
            changed(&pool);
        }
        Some("failed") => {
            let reason = get_string(&data, "reason").unwrap_or_default();
            remove_slot(&pool, key, &reason);
        }
        Some("panic") => with_slot(&pool, key, |slot| slot.panic = get_string(&data, "message").map(|m| (m, get_string(&data, "file")))),
        Some("crashed") => crashed(&pool, key, get_string(&data, "reason").unwrap_or_default()),
        Some("done") => {
            let result = match get_string(&data, "error") {
                Some(e) => Err(JobError::Failed(e)),
                None => Ok(data.clone()),
            };
            let id = get_f64(&data, "id").unwrap_or(-1.0) as u64;
            with_slot(&pool, key, |slot| {
                if let SlotState::Busy(job) = std::mem::replace(&mut slot.state, SlotState::Idle) {
                    debug_assert_eq!(job.id, id);
                    let _ = job.reply.send(result);
                }
            });
            dispatch(&mut pool.borrow_mut());
        }
        _ => {}
    }
}

fn with_slot(pool: &Rc<RefCell<Inner>>, key: u64, f: impl FnOnce(&mut Slot)) {
    if let Some(slot) = pool.borrow_mut().slots.iter_mut().find(|s| s.key == key) {
        f(slot);
    }
}

/// A worker that cannot load the model: it goes, and with the last worker go the waiting jobs.
fn remove_slot(pool: &Rc<RefCell<Inner>>, key: u64, reason: &str) {
    let mut inner = pool.borrow_mut();
    let Some(at) = inner.slots.iter().position(|s| s.key == key) else { return };
    let slot = inner.slots.remove(at);
    let slot = end(&mut inner, slot);
    if let SlotState::Starting(Some(tx)) = slot.state {
        let _ = tx.send(Err(reason.to_string()));
    }
    // A probe's failure is for the device choice to handle (it may fall back to the CPU).
    if slot.enlisted && inner.slots.is_empty() {
        fail_pending(&mut inner, reason);
    }
    drop(inner);
    changed(pool);
}

/// A worker died: its job is retried once on another worker (or failed, if the worker said it
/// panicked on it), and a new worker takes its place.
fn crashed(pool: &Rc<RefCell<Inner>>, key: u64, reason: String) {
    let mut inner = pool.borrow_mut();
    let Some(at) = inner.slots.iter().position(|s| s.key == key) else { return };
    let slot = inner.slots.remove(at);
    let slot = end(&mut inner, slot);
    let (why, file) = slot.panic.clone().unwrap_or((reason, None));
    web_sys::console::warn_1(&format!("segmentation worker crashed: {why}").into());
    let (device, enlisted) = (slot.device, slot.enlisted);
    match slot.state {
        SlotState::Busy(mut job) => {
            if slot.panic.is_some() || job.retried {
                let _ = job.reply.send(Err(JobError::Crashed { why: why.clone(), file }));
            } else {
                job.retried = true;
                inner.pending.push_front(job);
            }
        }
        SlotState::Starting(tx) => {
            inner.failed_starts += 1;
            if let Some(tx) = tx {
                let _ = tx.send(Err(why.clone()));
            }
        }
        SlotState::Idle => {}
    }
    let respawn = enlisted && inner.failed_starts <= MAX_FAILED_STARTS;
    drop(inner);
    if !respawn || spawn_slot(pool, device, true, false, None).is_err() {
        let mut inner = pool.borrow_mut();
        if enlisted && inner.slots.is_empty() {
            fail_pending(&mut inner, &why);
        }
    }
    dispatch(&mut pool.borrow_mut());
    changed(pool);
}

/// Stops a removed worker. Its handlers are detached and kept (not dropped): this may run inside
/// one of them, and messages it posted before it stopped may still be queued.
fn end(inner: &mut Inner, slot: Slot) -> Ended {
    slot.worker.set_onmessage(None);
    slot.worker.set_onerror(None);
    slot.worker.terminate();
    inner.detached.push((slot._on_message, slot._on_error));
    Ended { device: slot.device, enlisted: slot.enlisted, state: slot.state, panic: slot.panic }
}

/// What is left of a stopped worker.
struct Ended {
    device: DeviceRequest,
    enlisted: bool,
    state: SlotState,
    panic: Option<(String, Option<String>)>,
}

type Handlers = (Closure<dyn FnMut(MessageEvent)>, Closure<dyn FnMut(web_sys::ErrorEvent)>);

fn fail_pending(inner: &mut Inner, reason: &str) {
    for job in inner.pending.drain(..) {
        let _ = job.reply.send(Err(JobError::NoWorkers(reason.to_string())));
    }
}

/// Hands waiting jobs to idle enlisted workers.
fn dispatch(inner: &mut Inner) {
    for slot in inner.slots.iter_mut().filter(|s| s.enlisted) {
        if !matches!(slot.state, SlotState::Idle) {
            continue;
        }
        let Some(job) = inner.pending.pop_front() else { return };
        let posted = pack(&job.request).and_then(|(msg, transfer)| {
            set(&msg, "type", "job");
            set(&msg, "id", job.id as f64);
            slot.worker.post_message_with_transfer(&msg, &transfer).map_err(|e| crate::browser::describe(&e))
        });
        match posted {
            Ok(()) => slot.state = SlotState::Busy(job),
            Err(e) => {
                let _ = job.reply.send(Err(JobError::Failed(e)));
            }
        }
    }
}

/// `globalThis.brainsegWasm` as boot.js left it: the compiled module and the glue's URL.
pub fn page_wasm() -> Option<(JsValue, String)> {
    let wasm = js_sys::Reflect::get(&js_sys::global(), &"brainsegWasm".into()).ok().filter(|w| w.is_object())?;
    Some((get(&wasm, "module"), get_string(&wasm, "js")?))
}
