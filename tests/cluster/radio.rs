//! Live broadcasts for the cluster tests: an HTTP server on loopback whose streams run on the
//! wall clock whether anyone listens or not, as a live shop's does. A listener that connects
//! (or reconnects, on another node after a failover) gets the audio from the live edge on: a
//! WAV header of unknown length, then 16 kHz mono PCM paced in real time. Each program is
//! clips placed at given seconds over silence, and silence after its end.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const RATE: usize = 16_000;
/// Samples per write: 100 ms.
const CHUNK: usize = RATE / 10;

/// A clip placed in a program.
#[derive(Debug, Clone)]
pub struct Slot {
    pub clip: &'static str,
    pub at_s: f64,
}

pub struct Radio {
    addr: SocketAddr,
    /// When every program's second 0 was on air.
    pub started: SystemTime,
}

impl Radio {
    /// Starts `programs` (one per path `/radio/<index>`) on the air now.
    pub fn start(programs: Vec<Vec<Slot>>) -> Radio {
        let programs: Arc<Vec<Vec<i16>>> =
            Arc::new(programs.iter().map(|slots| render(slots)).collect());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (started, on_air) = (SystemTime::now(), Instant::now());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let programs = programs.clone();
                std::thread::spawn(move || listen(conn, &programs, on_air));
            }
        });
        Radio { addr, started }
    }

    pub fn url(&self, index: usize) -> String {
        format!("http://{}/radio/{index}", self.addr)
    }

    /// Seconds into the programs at wall-clock `at`.
    pub fn position(&self, at: SystemTime) -> f64 {
        at.duration_since(self.started)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// The samples of a program: each slot's clip (16 kHz mono 16-bit WAV) at its second.
fn render(slots: &[Slot]) -> Vec<i16> {
    let mut out: Vec<i16> = Vec::new();
    for slot in slots {
        let path = crate::live::serve::clip(slot.clip);
        let mut reader = hound::WavReader::open(&path).unwrap();
        let spec = reader.spec();
        assert_eq!((spec.sample_rate, spec.channels), (16_000, 1), "{path:?}");
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        let start = (slot.at_s * RATE as f64) as usize;
        if out.len() < start + samples.len() {
            out.resize(start + samples.len(), 0);
        }
        out[start..start + samples.len()].copy_from_slice(&samples);
    }
    out
}

fn listen(conn: TcpStream, programs: &[Vec<i16>], on_air: Instant) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let program = request_line
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.strip_prefix("/radio/"))
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| programs.get(i));
    let mut conn = conn;
    let Some(program) = program else {
        let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let head = "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n";
    if conn.write_all(head.as_bytes()).is_err() || conn.write_all(&wav_header()).is_err() {
        return;
    }
    // From the live edge, then one chunk per 100 ms of wall clock.
    let mut next = (on_air.elapsed().as_secs_f64() * RATE as f64) as usize / CHUNK * CHUNK;
    loop {
        let due = on_air + Duration::from_secs_f64((next + CHUNK) as f64 / RATE as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let chunk: Vec<u8> = (next..next + CHUNK)
            .flat_map(|i| program.get(i).copied().unwrap_or(0).to_le_bytes())
            .collect();
        if conn.write_all(&chunk).is_err() {
            return; // the listener went away (its node was killed or detached the stream)
        }
        next += CHUNK;
    }
}

/// A 16 kHz mono 16-bit WAV header whose lengths say "as long as it goes".
fn wav_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&(RATE as u32).to_le_bytes());
    h.extend_from_slice(&(RATE as u32 * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(u32::MAX - 36).to_le_bytes());
    h
}
