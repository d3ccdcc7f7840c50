//! Publish throughput of the cluster's event bus: transcript events through one
//! [`JetStreamBus`] into a real `nats-server -js` on loopback (file store in a temp directory),
//! from 1 thread and from 4 at once. Each publish is what the pipeline does: it waits for the
//! server's ack and for this node's view to hold the event. Then how fast a node starting up
//! reads that history back (`JetStreamBus::connect` reads the stream from its first message).
//! Needs `nats-server` (Debian package; `scripts/install-deps`).
//!
//! `cargo bench --bench jetstream` (criterion reports elements/s = events/s; the payload size is
//! printed first, so MB/s = events/s × that).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use claimwatch::events::jetstream::codec;
use claimwatch::events::{EventBody, EventBus, JetStreamBus, JetStreamConfig};
use claimwatch::transcribe::Segment;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

/// A committed English line of en_demo as the live pipeline publishes it (about the median
/// transcript payload of a live run; see BENCHMARKS.md "Cluster: JetStream traffic").
fn transcript() -> EventBody {
    EventBody::Transcript(Segment::new(
        12.34,
        17.9,
        "Use it every night, and it erases dark spots. It is clinically proven.",
    ))
}

/// `nats-server -js` on a free loopback port (read back from its log), killed when dropped.
struct Nats {
    child: Child,
    port: u16,
}

impl Nats {
    fn start(store: &Path) -> Nats {
        let binary = if Path::new("/usr/sbin/nats-server").is_file() {
            "/usr/sbin/nats-server"
        } else {
            "nats-server"
        };
        let mut child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server (Debian package nats-server; run scripts/install-deps)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut port = None;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                    port = rest.rsplit(':').next().and_then(|p| p.trim().parse().ok());
                }
                if line.contains("Server is ready") {
                    let _ = tx.send(port);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => Nats { child, port },
            other => {
                let _ = child.kill();
                panic!("nats-server did not get ready: {other:?}");
            }
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `total` transcript events split over `threads` threads; the wall time taken.
fn publish(bus: &JetStreamBus, threads: u64, total: u64) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let n = total / threads + u64::from(t < total % threads);
            let stream = format!("s{t}");
            scope.spawn(move || {
                for _ in 0..n {
                    bus.publish(&stream, transcript()).expect("publish");
                }
            });
        }
    });
    started.elapsed()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = Nats::start(&dir.path().join("js"));
    let url = format!("nats://127.0.0.1:{}", nats.port);
    let bus = JetStreamBus::connect(JetStreamConfig::new(&url, "bench", dir.path().join("node")))
        .expect("connect to nats-server");
    let payload = codec::encode("s0", "2026-11-29T08:00:00.000Z", &transcript());
    println!(
        "transcript payload: {} bytes, subject {} ({} bytes)",
        payload.len(),
        codec::subject("s0", &transcript()),
        codec::subject("s0", &transcript()).len()
    );
    let mut group = c.benchmark_group("jetstream");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    for threads in [1u64, 4] {
        group.bench_function(format!("publish_transcript/{threads}_threads"), |b| {
            b.iter_custom(|iters| publish(&bus, threads, iters))
        });
    }
    // A node starting (or restarting) reads the whole stream into its view before it answers:
    // everything published above, counted by the id of one more event.
    let stored = bus.publish("s0", transcript()).expect("publish").id;
    println!("stream holds {stored} events for the read-back");
    group.throughput(Throughput::Elements(stored));
    // Each read-back takes seconds: one per sample.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("connect_and_read_back", |b| {
        b.iter(|| {
            JetStreamBus::connect(JetStreamConfig::new(&url, "reader", dir.path().join("r")))
                .expect("connect to nats-server")
        })
    });
    group.finish();
    drop(bus);
    drop(nats);
}

criterion_group!(benches, bench);
criterion_main!(benches);
