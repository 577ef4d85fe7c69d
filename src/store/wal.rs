//! One file of the embedded store's write-ahead log (`seatbroker.wal` or `seatbroker.wal.1`
//! beside the redb file; the store writes them in turn, see `embedded/mod.rs`): each group
//! commit is one record appended in place and made durable with one `fdatasync`, which
//! writes a block or two where a durable redb commit rewrites about nine pages of its
//! copy-on-write trees. The file grows in zeroed chunks and is overwritten from its start
//! after the checkpoint that covers it, so an append changes no file metadata.
//!
//! A record is `len: u32, crc32(seq ‖ payload): u32, seq: u64, payload` (little-endian).
//! Reading stops at the first record that is zero, torn, fails its checksum or does not
//! follow its predecessor's sequence number: that is where the last append ended, and
//! whatever lies past it is an earlier cycle's. What a record holds and how it is applied
//! lives in `embedded/pools.rs`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes before a record's payload.
const HEADER: usize = 16;
/// The file grows by at least this much, zero-filled, when an append needs room.
const CHUNK: u64 = 256 * 1024;
/// The largest payload accepted when reading (a record claiming more is torn).
const MAX_RECORD: usize = 256 * 1024 * 1024;

/// One group commit as it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Its sequence number: one more than the record before it.
    pub seq: u64,
    /// The encoded commit.
    pub payload: Vec<u8>,
}

/// The log file and where the next record goes.
#[derive(Debug)]
pub(crate) struct Wal {
    file: File,
    tail: u64,
    allocated: u64,
}

impl Wal {
    /// Opens (or creates) the log at `path`; the records it holds, oldest first. Appends
    /// start at the file's beginning again once `restart` is called.
    pub fn open(path: &Path) -> io::Result<(Wal, Vec<Record>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // The file's name must survive a power cut too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        let allocated = file.metadata()?.len();
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut &file, &mut bytes)?;
        let records = parse(&bytes);
        let tail = records
            .iter()
            .map(|r| (HEADER + r.payload.len()) as u64)
            .sum();
        Ok((
            Wal {
                file,
                tail,
                allocated,
            },
            records,
        ))
    }

    /// Appends record `seq` and returns once it is durable.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| (*l as usize) <= MAX_RECORD)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        let mut buf = Vec::with_capacity(HEADER + payload.len());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&checksum(seq, payload).to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(payload);
        let end = self.tail + buf.len() as u64;
        if end > self.allocated {
            let grown = self.allocated + CHUNK.max(end - self.allocated);
            let zeros = vec![0u8; (grown - self.allocated) as usize];
            self.file.write_all_at(&zeros, self.allocated)?;
            self.allocated = grown;
        }
        let written = self
            .file
            .write_all_at(&buf, self.tail)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // The commit is reported failed: a record left readable in the page cache must
            // not be replayed after a restart (best effort; the caller checkpoints next).
            let _ = self.file.write_all_at(&[0u8; HEADER], self.tail);
            return Err(e);
        }
        self.tail = end;
        Ok(())
    }

    /// Bytes appended since the last restart.
    pub fn len(&self) -> u64 {
        self.tail
    }

    /// Starts appending at the beginning again: everything logged so far is durable
    /// elsewhere.
    pub fn restart(&mut self) {
        self.tail = 0;
    }
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// The records at the start of `bytes` up to the first that is not the next one.
fn parse(bytes: &[u8]) -> Vec<Record> {
    let mut records: Vec<Record> = Vec::new();
    let mut at = 0usize;
    while let Some(head) = bytes.get(at..at + HEADER) {
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let len = word(0) as usize;
        let crc = word(4);
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&head[8..16]);
        let seq = u64::from_le_bytes(seq_bytes);
        if len == 0 || len > MAX_RECORD {
            break;
        }
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if checksum(seq, payload) != crc {
            break;
        }
        if records.last().is_some_and(|prev| prev.seq + 1 != seq) {
            break;
        }
        records.push(Record {
            seq,
            payload: payload.to_vec(),
        });
        at += HEADER + len;
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(path: &Path) -> Vec<Record> {
        Wal::open(path).expect("open").1
    }

    #[test]
    fn appended_records_are_read_back_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.wal");
        let (mut wal, none) = Wal::open(&path).expect("open");
        assert!(none.is_empty());
        wal.append(7, b"first").expect("append");
        wal.append(8, b"second").expect("append");
        let records = reopen(&path);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].seq, records[0].payload.as_slice()),
            (7, &b"first"[..])
        );
        assert_eq!(
            (records[1].seq, records[1].payload.as_slice()),
            (8, &b"second"[..])
        );
    }

    #[test]
    fn a_torn_last_record_ends_the_log_and_the_earlier_ones_stay() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        wal.append(1, b"kept").expect("append");
        wal.append(2, b"torn in half").expect("append");
        // A crash in the middle of the second write: its last bytes never reached the disk.
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        let second = (HEADER + 4 + HEADER + 6) as u64;
        file.write_all_at(&[0u8; 6], second).expect("tear");
        let records = reopen(&path);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].payload, b"kept");
    }

    #[test]
    fn after_a_restart_an_earlier_cycles_records_past_the_tail_are_not_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        for seq in 1..=5 {
            wal.append(seq, b"an earlier cycle").expect("append");
        }
        wal.restart();
        wal.append(6, b"a new cycle").expect("append");
        wal.append(7, b"another one").expect("append");
        let records = reopen(&path);
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![6, 7]);
        // The reopened log appends after what it read.
        let (mut wal, _) = Wal::open(&path).expect("open");
        wal.append(8, b"after reopening").expect("append");
        assert_eq!(reopen(&path).len(), 3);
    }

    #[test]
    fn a_record_larger_than_a_chunk_grows_the_file_and_reads_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        let big = vec![0xA5u8; (CHUNK as usize) * 2 + 3];
        wal.append(1, &big).expect("append");
        wal.append(2, b"small").expect("append");
        let records = reopen(&path);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].payload, big);
        assert!(wal.len() > CHUNK * 2);
    }
}
