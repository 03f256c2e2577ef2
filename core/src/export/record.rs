//! One event as a log record: what every format needs, and nothing about
//! how it will be framed.

use std::time::SystemTime;

/// RFC 5424 severities (section 6.2.1), numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

/// The facility hostscope logs under: `daemon` (3), a system daemon's, unless
/// the user picks another. RFC 5424 section 6.2.1, numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(pub u8);

impl Facility {
    pub const DAEMON: Facility = Facility(3);
    pub const LOCAL0: Facility = Facility(16);
}

/// One record. Text from processes (comm, paths, messages) is held raw
/// here: the formats escape it, each as its rules require.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub time: SystemTime,
    pub severity: Severity,
    pub facility: Facility,
    /// What kind of event: `exec`, `exit`, `oom`, `missing`, `denied`,
    /// `lost`, `request`, `chain` (RFC 5424 MSGID: printable ASCII, at most
    /// 32 characters).
    pub msgid: &'static str,
    /// The event's fields, in order: `pid`, `comm`, `path`, `errno`,
    /// `count`… Names are ours (ASCII, no `=`, space, `]` or `"`); values
    /// are raw bytes from the process or the kernel.
    pub fields: Vec<(&'static str, Vec<u8>)>,
    /// The human-readable line (raw bytes; escaped when formatted).
    pub message: Vec<u8>,
}

impl Record {
    /// A record at `time` with no fields yet.
    pub fn new(
        time: SystemTime,
        severity: Severity,
        msgid: &'static str,
        message: impl Into<Vec<u8>>,
    ) -> Record {
        Record {
            time,
            severity,
            facility: Facility::DAEMON,
            msgid,
            fields: Vec::new(),
            message: message.into(),
        }
    }

    /// Adds field `name` with `value`.
    pub fn field(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Record {
        self.fields.push((name, value.into()));
        self
    }

    /// The value of field `name`, if set.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Who is sending: the header fields that are the same for every record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// This host's name (RFC 5424 HOSTNAME: printable ASCII, at most 255).
    pub hostname: String,
    /// `hostscope` (APP-NAME, at most 48).
    pub app_name: &'static str,
    /// hostscope's own pid (PROCID): the subject process is a field.
    pub procid: u32,
}
