//! User names for uids, looked up once per uid.
//!
//! A host has thousands of processes but a handful of users, and a lookup
//! can be slow (NSS may ask LDAP or systemd), so each uid is resolved once
//! per [`Users`] and the name shared by every process that runs as it.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Arc;

/// Names resolved so far, misses included (a uid with no name stays nameless
/// for the life of the cache rather than being asked about every second).
#[derive(Debug, Default)]
pub(crate) struct Users {
    names: HashMap<u32, Option<Arc<str>>>,
}

impl Users {
    /// The name of `uid` in the passwd database, through NSS like `ps`.
    pub(crate) fn name(&mut self, uid: u32) -> Option<Arc<str>> {
        self.names.entry(uid).or_insert_with(|| lookup(uid)).clone()
    }
}

/// Where `getpwuid_r` gives up growing its buffer: no sane entry is this big.
const MAX_BUFFER: usize = 1 << 20;

fn lookup(uid: u32) -> Option<Arc<str>> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: all-zero is a valid `passwd` (null pointers and zero ids);
        // getpwuid_r overwrites it before we read it.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call, and
        // `buf.len()` is the writable size of `buf`.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < MAX_BUFFER {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success `pw_name` points to a NUL-terminated string
        // inside `buf`, which outlives this borrow.
        let name = unsafe { CStr::from_ptr(entry.pw_name) };
        return Some(Arc::from(name.to_string_lossy().as_ref()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_root_and_is_cached() {
        let mut users = Users::default();
        let first = users.name(0).expect("uid 0 has a passwd entry");
        assert_eq!(&*first, "root");
        let second = users.name(0).expect("cached");
        assert!(Arc::ptr_eq(&first, &second), "second lookup was not cached");
    }

    #[test]
    fn unknown_uid_has_no_name() {
        let mut users = Users::default();
        // Far above every range distributions and systemd allocate from.
        assert_eq!(users.name(3_999_999_999), None);
    }
}
