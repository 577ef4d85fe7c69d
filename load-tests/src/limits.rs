//! The open-file limit: thousands of logical clients and their connections need more file
//! descriptors than the usual soft limit of 1,024, so the tester raises its soft limit to
//! the hard one at start.

/// Raises the soft open-file limit to the hard limit; the new soft limit.
pub fn raise_open_files() -> std::io::Result<u64> {
    // SAFETY: getrlimit and setrlimit read and write the struct we hand them.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        let soft = super::raise_open_files().expect("rlimit");
        assert!(soft >= 1_024);
    }
}
