//! Keeping the supervisor's resident set to what its loop runs.
//!
//! Every page of the executable that the supervisor has touched stays mapped in it, and
//! counts in its RSS, long after it last ran: the kernel maps file pages 64 KiB at a time
//! around each fault, so setting a pod up (reading `pod.json` into a PodSpec, building
//! container roots) leaves nearly the whole binary mapped, about 1.5 MB. Once the containers
//! run, the supervisor drops those mappings; the pages stay in the page cache, shared by
//! every supervisor, and the loop maps back only what it executes (bench/README.md has the
//! figures). The resident set matters beyond accounting: the OOM killer's badness counts
//! mapped file pages too.

use std::path::Path;

/// Drops the page mappings of this executable's read-only segments that hold no private
/// copy of a page: text and read-only data map back from the page cache when next used.
/// Segments with private pages (relocated data made read-only, a debugger's breakpoints)
/// are left alone, since dropping those pages would lose what was written to them.
pub fn release_code_mappings() {
    let (Ok(exe), Ok(smaps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/smaps"),
    ) else {
        return;
    };
    for (start, end) in clean_read_only_mappings(&smaps, &exe) {
        // SAFETY: [start, end) is a private, read-only mapping of the executable without
        // anonymous pages (see above): MADV_DONTNEED only unmaps page-cache pages, which fault
        // back in unchanged. No reference into the range is invalidated.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// The `[start, end)` ranges in `smaps` that map `file` read-only and hold no anonymous
/// (privately written) pages.
fn clean_read_only_mappings(smaps: &str, file: &Path) -> Vec<(usize, usize)> {
    let file = file.to_string_lossy();
    let mut ranges = Vec::new();
    let mut current = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some((start, end)) = fields.first().and_then(|f| f.split_once('-'))
            && let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16))
        {
            let read_only = fields.get(1).is_some_and(|p| p.starts_with('r') && !p.contains('w'));
            // The path is the sixth field; it may contain spaces.
            let path = line.splitn(6, char::is_whitespace).nth(5).map(str::trim_start);
            current = (read_only && path == Some(file.as_ref())).then_some((start, end));
        } else if fields.first() == Some(&"Anonymous:")
            && let Some(range) = current.take()
            && fields.get(1) == Some(&"0")
        {
            ranges.push(range);
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
7f00a0000000-7f00a0072000 r--p 00000000 fe:00 12 /opt/rekon dir/rekon-shim
Rss:                 320 kB
Anonymous:             0 kB
7f00a0072000-7f00a01f4000 r-xp 00072000 fe:00 12 /opt/rekon dir/rekon-shim
Rss:                1484 kB
Anonymous:             0 kB
7f00a01f4000-7f00a01ff000 r--p 001f4000 fe:00 12 /opt/rekon dir/rekon-shim
Rss:                  44 kB
Anonymous:            44 kB
7f00a01ff000-7f00a0203000 rw-p 001ff000 fe:00 12 /opt/rekon dir/rekon-shim
Anonymous:             0 kB
7f00a0300000-7f00a0400000 r-xp 00000000 fe:00 13 /usr/lib/libc.so.6
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
Anonymous:           132 kB
";

    #[test]
    fn only_clean_read_only_mappings_of_the_file_are_chosen() {
        let ranges = clean_read_only_mappings(SMAPS, Path::new("/opt/rekon dir/rekon-shim"));
        assert_eq!(
            ranges,
            vec![(0x7f00a0000000, 0x7f00a0072000), (0x7f00a0072000, 0x7f00a01f4000)]
        );
    }

    /// The resident pages of this test binary's read-only mappings, in kB.
    fn resident_code_kb() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let wanted = clean_read_only_mappings(&smaps, &exe);
        let mut total = 0;
        let mut current = false;
        for line in smaps.lines() {
            if let Some((start, _)) = line.split_whitespace().next().and_then(|f| f.split_once('-'))
                && let Ok(start) = usize::from_str_radix(start, 16)
            {
                current = wanted.iter().any(|(s, _)| *s == start);
            } else if current && let Some(kb) = line.strip_prefix("Rss:") {
                total += kb.trim().trim_end_matches(" kB").parse::<u64>().unwrap();
            }
        }
        total
    }

    #[test]
    fn released_code_pages_leave_the_resident_set_and_fault_back() {
        let before = resident_code_kb();
        release_code_mappings();
        let after = resident_code_kb();
        assert!(after < before, "resident code {before} kB before, {after} kB after");
    }
}
