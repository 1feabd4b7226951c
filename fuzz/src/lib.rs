//! A small mutational fuzzer for the stable toolchain.
//!
//! cargo-fuzz needs nightly; this is the loop it would run, minus coverage
//! feedback: start from a seed corpus, mutate (bit flips, random bytes,
//! inserts, deletes, splices with other seeds, interesting values), call
//! the target under [`std::panic::catch_unwind`], and keep going for a
//! fixed time. A panic prints the input in hex and exits non-zero.
//!
//! Each target is a binary, `src/bin/NAME.rs`, that calls [`main`]:
//! `NAME --seconds N [--seed S]` (the seed defaults to the clock).

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// xorshift64*: small, fast, good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Values that often hit boundaries.
const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b':', b'.', b'/', b'#', b'\n', b' '];

/// One mutation of `input`, possibly splicing in part of `other`.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8], max_len: usize) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(8) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next_u64() as u8;
            }
            2 if input.len() < max_len => {
                let i = rng.below(input.len() + 1);
                input.insert(i, rng.next_u64() as u8);
            }
            3 if !input.is_empty() => {
                let i = rng.below(input.len());
                let n = 1 + rng.below((input.len() - i).min(16));
                input.drain(i..i + n);
            }
            4 if !other.is_empty() => {
                // Splice: a chunk of another input over or into this one.
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(64));
                let at = rng.below(input.len() + 1);
                let end = (at + n).min(input.len());
                input.splice(at..end, other[from..from + n].iter().copied());
            }
            5 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            6 if !input.is_empty() && input.len() < max_len => {
                // Repeat a chunk (lengths, counts and lists like repeats).
                let i = rng.below(input.len());
                let n = 1 + rng.below((input.len() - i).min(32));
                let chunk: Vec<u8> = input[i..i + n].to_vec();
                input.splice(i..i, chunk);
            }
            _ => {
                let n = rng.below(32);
                input.clear();
                input.extend((0..n).map(|_| rng.next_u64() as u8));
            }
        }
    }
    input.truncate(max_len);
}

/// Command-line options of a target.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How long to run.
    pub seconds: f64,
    /// The generator's seed.
    pub seed: u64,
}

impl Options {
    /// Parses `--seconds N [--seed S]`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        // A new seed each run (printed, and crashes print their input), so
        // that repeated short runs explore different inputs.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64);
        let mut options = Self {
            seconds: 10.0,
            seed,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--seconds" => {
                    options.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?;
                }
                "--seed" => options.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs target `name` on mutations of `seeds` for the time given on the
/// command line, and reports; the exit code is a failure on a panic.
pub fn main(name: &str, seeds: &[&[u8]], max_len: usize, target: impl Fn(&[u8])) -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{name}: {e}\nusage: {name} --seconds N [--seed S]");
            return ExitCode::from(2);
        }
    };
    // Keep the panic message, without the default hook printing each one.
    let message = Arc::new(Mutex::new(None::<String>));
    let slot = Arc::clone(&message);
    panic::set_hook(Box::new(move |info| {
        *slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info.to_string());
    }));
    let mut rng = Rng::new(options.seed);
    let mut corpus: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let start = Instant::now();
    let mut execs: u64 = 0;
    let mut input = Vec::with_capacity(max_len);
    // Seeds first, as they are.
    for seed in seeds {
        if let Err(code) = run_one(name, &target, seed, &message) {
            return code;
        }
        execs += 1;
    }
    while Instant::now() < deadline {
        for _ in 0..256 {
            let base = &corpus[rng.below(corpus.len())];
            input.clear();
            input.extend_from_slice(base);
            let other = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, &mut input, other, max_len);
            if let Err(code) = run_one(name, &target, &input, &message) {
                return code;
            }
            execs += 1;
        }
        // Without coverage feedback, keep a few mutants for variety: the
        // corpus drifts away from the seeds, bounded in size.
        if corpus.len() < 256 {
            corpus.push(input.clone());
        } else {
            let i = seeds.len() + rng.below(corpus.len() - seeds.len());
            corpus[i].clone_from(&input);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {execs} executions in {elapsed:.1} s, {:.0} exec/s, no panic (seed {})",
        execs as f64 / elapsed,
        options.seed
    );
    ExitCode::SUCCESS
}

fn run_one(
    name: &str,
    target: &impl Fn(&[u8]),
    input: &[u8],
    message: &Mutex<Option<String>>,
) -> Result<(), ExitCode> {
    if panic::catch_unwind(AssertUnwindSafe(|| target(input))).is_ok() {
        return Ok(());
    }
    let why = message
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    eprintln!(
        "fuzz {name}: PANIC on input ({} bytes) {}\n  text: {:?}\n  {why}",
        input.len(),
        hex(input),
        String::from_utf8_lossy(input)
    );
    Err(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutate_respects_max_len() {
        let mut rng = Rng::new(1);
        let mut input = b"2001:0:4136:e378:8000:63bf:3fff:fdd2".to_vec();
        for _ in 0..10_000 {
            mutate(&mut rng, &mut input, b"other", 40);
            assert!(input.len() <= 40);
        }
    }

    #[test]
    fn options() {
        let o = Options::parse(["--seconds", "2", "--seed", "7"].map(String::from)).unwrap();
        assert!((o.seconds - 2.0).abs() < f64::EPSILON);
        assert_eq!(o.seed, 7);
        assert!(Options::parse(["--bogus".to_owned(), "1".to_owned()]).is_err());
    }
}
