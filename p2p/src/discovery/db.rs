//! The discovery DB: the node records discv5 learnt, kept across restarts (op-node's
//! `--p2p.discovery.path`) so a restarted node can walk the DHT again without its bootnodes.
//!
//! ```text
//!   start:  file ──lines──► ENRs (corrupt lines logged and skipped) ──► discv5 seeds
//!   run:    every walk: table + chain matches ──► KnownNodes (newest first, ≤ 512)
//!   every persist interval and on shutdown: KnownNodes ──► <path>.tmp ──rename──► <path>
//! ```
//!
//! File format: UTF-8 text, one ENR in its text form (`enr:` + base64url) per line, most
//! recently seen first; blank lines and lines starting with `#` are ignored.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use discv5::Enr;
use enr::NodeId;

/// op-node's default `--p2p.discovery.path`, resolved in the data directory.
pub const DEFAULT_DISCOVERY_DB: &str = "opnode_discovery_db";

/// The `--p2p.discovery.path` value that keeps nothing (op-node's `memory`).
pub const MEMORY_DISCOVERY_DB: &str = "memory";

/// Most records kept; the least recently seen go first.
pub const MAX_STORED_RECORDS: usize = 512;

/// The header line written before the records.
const HEADER: &str = "# opfleet discv5 node records: one ENR per line, most recently seen first";

/// Where discovered records are kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DiscoveryDb {
    /// Nothing is kept: every start begins from the bootnodes alone.
    #[default]
    Memory,
    /// Records are kept in this file.
    File(PathBuf),
}

impl DiscoveryDb {
    /// Reads `--p2p.discovery.path`: unset is [`DEFAULT_DISCOVERY_DB`] in `data_dir`, `memory`
    /// keeps nothing, anything else is the file.
    pub fn from_flag(flag: Option<&Path>, data_dir: &Path) -> Self {
        match flag {
            None => Self::File(data_dir.join(DEFAULT_DISCOVERY_DB)),
            Some(p) if p.as_os_str() == MEMORY_DISCOVERY_DB => Self::Memory,
            Some(p) => Self::File(p.to_path_buf()),
        }
    }

    /// True when a file is configured and present (it may still hold no usable record).
    pub fn exists(&self) -> bool {
        matches!(self, Self::File(path) if path.is_file())
    }

    /// The stored records, newest first, at most [`MAX_STORED_RECORDS`]. A missing file is
    /// empty; an unreadable file or line is logged with the file name and skipped.
    pub fn load(&self) -> Vec<Enr> {
        let Self::File(path) = self else {
            return Vec::new();
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "discovery DB unreadable, ignored");
                return Vec::new();
            }
        };
        let mut known = KnownNodes::new(MAX_STORED_RECORDS);
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0usize;
        while known.len() < MAX_STORED_RECORDS {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), line = number + 1, error = %e, "discovery DB read failed, rest ignored");
                    break;
                }
            }
            number += 1;
            match parse_line(&line) {
                Ok(Some(enr)) => known.keep_older(enr),
                Ok(None) => {}
                Err(reason) => {
                    tracing::warn!(file = %path.display(), line = number, %reason, "discovery DB line skipped");
                }
            }
        }
        known.into_records()
    }

    /// Writes `records` (newest first) atomically: a temporary file beside the target, then a
    /// rename, so a crash leaves the old file or the new one, never half of one.
    pub fn save(&self, records: &[Enr]) -> std::io::Result<()> {
        let Self::File(path) = self else {
            return Ok(());
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            writeln!(out, "{HEADER}")?;
            for enr in records.iter().take(MAX_STORED_RECORDS) {
                writeln!(out, "{}", enr.to_base64())?;
            }
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

/// Why a line of the file is not a record.
fn parse_line(raw: &[u8]) -> Result<Option<Enr>, String> {
    let text = std::str::from_utf8(raw).map_err(|e| format!("not UTF-8: {e}"))?;
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    text.parse::<Enr>().map(Some).map_err(|e| {
        let shown: String = text.chars().take(40).collect();
        format!("not an ENR ({e}): {shown:?}")
    })
}

/// The records to persist, most recently seen first, bounded.
#[derive(Debug, Clone)]
pub struct KnownNodes {
    max: usize,
    records: Vec<Enr>,
}

impl KnownNodes {
    /// An empty book of at most `max` records.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            records: Vec::new(),
        }
    }

    /// A book starting from stored records (newest first).
    pub fn from_records(max: usize, records: impl IntoIterator<Item = Enr>) -> Self {
        let mut known = Self::new(max);
        for enr in records {
            known.keep_older(enr);
        }
        known
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records `enr` as just seen: it moves to the front, replacing an older record of the same
    /// node (a higher sequence number wins); the least recently seen beyond the bound go.
    pub fn observe(&mut self, enr: Enr) {
        let enr = match self.position(enr.node_id()) {
            Some(i) => {
                let old = self.records.remove(i);
                if old.seq() > enr.seq() { old } else { enr }
            }
            None => enr,
        };
        self.records.insert(0, enr);
        self.records.truncate(self.max);
    }

    /// Appends `enr` as older than everything kept (loading a file newest first); a node
    /// already kept only has its record updated when this one is newer.
    fn keep_older(&mut self, enr: Enr) {
        match self.position(enr.node_id()) {
            Some(i) => {
                if let Some(kept) = self.records.get_mut(i)
                    && enr.seq() > kept.seq()
                {
                    *kept = enr;
                }
            }
            None if self.records.len() < self.max => self.records.push(enr),
            None => {}
        }
    }

    fn position(&self, id: NodeId) -> Option<usize> {
        self.records.iter().position(|e| e.node_id() == id)
    }

    /// The records, newest first.
    pub fn records(&self) -> &[Enr] {
        &self.records
    }

    /// The records, newest first, by value.
    pub fn into_records(self) -> Vec<Enr> {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use enr::CombinedKey;
    use proptest::prelude::*;

    use super::*;

    /// A signed record of node `n` (its own key) at sequence number `seq`.
    fn record(n: u16, seq: u64) -> Enr {
        let [hi, lo] = n.to_be_bytes();
        let mut secret = [1u8; 32];
        secret[0] = hi;
        secret[1] = lo;
        let key = CombinedKey::secp256k1_from_bytes(&mut secret).unwrap();
        let mut builder = Enr::builder();
        builder
            .ip4(std::net::Ipv4Addr::new(10, 0, hi, lo))
            .udp4(9000)
            .tcp4(9000)
            .seq(seq);
        builder.build(&key).unwrap()
    }

    fn ids(records: &[Enr]) -> Vec<NodeId> {
        records.iter().map(Enr::node_id).collect()
    }

    #[test]
    fn flag_values_resolve_like_op_node() {
        let data = Path::new("/data");
        assert_eq!(
            DiscoveryDb::from_flag(None, data),
            DiscoveryDb::File(PathBuf::from("/data/opnode_discovery_db"))
        );
        assert_eq!(
            DiscoveryDb::from_flag(Some(Path::new("memory")), data),
            DiscoveryDb::Memory
        );
        assert_eq!(
            DiscoveryDb::from_flag(Some(Path::new("/var/disc")), data),
            DiscoveryDb::File(PathBuf::from("/var/disc"))
        );
    }

    #[test]
    fn records_survive_a_round_trip_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = DiscoveryDb::File(dir.path().join("sub").join("disc"));
        assert!(!db.exists());
        assert!(db.load().is_empty());
        let records = vec![record(1, 1), record(2, 5), record(3, 1)];
        db.save(&records).unwrap();
        assert!(db.exists());
        let loaded = db.load();
        assert_eq!(loaded, records);
        assert!(!dir.path().join("sub").join("disc.tmp").exists());
        // A second save replaces the file.
        db.save(&records[..1]).unwrap();
        assert_eq!(db.load(), records[..1].to_vec());
    }

    #[test]
    fn memory_keeps_nothing() {
        let db = DiscoveryDb::Memory;
        db.save(&[record(1, 1)]).unwrap();
        assert!(!db.exists());
        assert!(db.load().is_empty());
    }

    #[test]
    fn corrupt_lines_are_skipped_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disc");
        let good = [record(1, 1), record(2, 1)];
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"# header\n\n");
        bytes.extend_from_slice(format!("{}\n", good[0].to_base64()).as_bytes());
        bytes.extend_from_slice(b"enr:-not-base64-at-all\n");
        bytes.extend_from_slice(b"\xff\xfe\x00 garbage\n");
        // A truncated record, as a torn write would leave it.
        let text = good[1].to_base64();
        bytes.extend_from_slice(format!("{}\n", &text[..text.len() / 2]).as_bytes());
        bytes.extend_from_slice(format!("  {}  \r\n", good[1].to_base64()).as_bytes());
        std::fs::write(&path, bytes).unwrap();
        let db = DiscoveryDb::File(path);
        assert_eq!(db.load(), good.to_vec());
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let db = DiscoveryDb::File(dir.path().to_path_buf());
        assert!(db.load().is_empty());
        assert!(db.save(&[record(1, 1)]).is_err());
    }

    #[test]
    fn loading_keeps_the_bound_and_the_newest_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disc");
        // Node 0 twice (the second, older-looking line has the higher sequence number), then
        // more distinct nodes than the bound.
        let mut lines = vec![record(0, 1), record(0, 4)];
        lines.extend((1..=520).map(|n| record(n, 1)));
        let text: String = lines
            .iter()
            .map(|e| format!("{}\n", e.to_base64()))
            .collect();
        std::fs::write(&path, text).unwrap();
        let loaded = DiscoveryDb::File(path).load();
        assert_eq!(loaded.len(), MAX_STORED_RECORDS);
        assert_eq!(loaded[0].node_id(), record(0, 1).node_id());
        assert_eq!(loaded[0].seq(), 4);
        // The first lines (the newest) are kept.
        assert_eq!(ids(&loaded[1..]), ids(&lines[2..MAX_STORED_RECORDS + 1]));
    }

    #[test]
    fn the_book_keeps_the_most_recently_seen() {
        let mut known = KnownNodes::new(3);
        for seed in 1..=4 {
            known.observe(record(seed, 1));
        }
        assert_eq!(
            ids(known.records()),
            ids(&[record(4, 1), record(3, 1), record(2, 1)])
        );
        // Seeing node 2 again moves it to the front; node 5 then pushes out node 3.
        known.observe(record(2, 1));
        known.observe(record(5, 1));
        assert_eq!(
            ids(known.records()),
            ids(&[record(5, 1), record(2, 1), record(4, 1)])
        );
        // An older record of a kept node does not replace the newer one.
        known.observe(record(4, 7));
        known.observe(record(4, 3));
        assert_eq!(known.records()[0].seq(), 7);
        assert_eq!(known.len(), 3);
    }

    #[test]
    fn saving_respects_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let db = DiscoveryDb::File(dir.path().join("disc"));
        let many: Vec<Enr> = (0..520).map(|n| record(n, 1)).collect();
        db.save(&many).unwrap();
        let lines = std::fs::read_to_string(dir.path().join("disc"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("enr:"))
            .count();
        assert_eq!(lines, MAX_STORED_RECORDS);
    }

    proptest! {
        #[test]
        fn arbitrary_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("disc");
            std::fs::write(&path, &bytes).unwrap();
            let loaded = DiscoveryDb::File(path).load();
            prop_assert!(loaded.len() <= MAX_STORED_RECORDS);
        }

        #[test]
        fn arbitrary_lines_never_panic(line in ".{0,300}") {
            let _ = parse_line(line.as_bytes());
            let _ = parse_line(format!("enr:-{line}").as_bytes());
        }
    }
}
