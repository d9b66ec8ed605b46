//! /etc/subuid, /etc/subgid and /proc/self/uid_map.

use crate::plan::host::IdRange;

/// The ranges granted to a user in a subuid/subgid text. Lines are `owner:first:count`, where
/// the owner is a login name or a numeric uid (shadow's tools accept both); comments, blank and
/// malformed lines are skipped.
pub(crate) fn subordinate_ranges(text: &str, user: Option<&str>, uid: u32) -> Vec<IdRange> {
    let uid_text = uid.to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut parts = line.split(':');
            let owner = parts.next()?;
            let first = parts.next()?.trim().parse::<u32>().ok()?;
            let count = parts.next()?.trim().parse::<u32>().ok()?;
            let mine = owner == uid_text || Some(owner) == user;
            (mine && count > 0).then_some(IdRange { first, count })
        })
        .collect()
}

/// Every range of a subuid/subgid text with its owner (`owner:first:count` lines; comments,
/// blank and malformed lines skipped).
pub(crate) fn all_subordinate(text: &str) -> Vec<(String, IdRange)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut parts = line.split(':');
            let owner = parts.next()?.trim();
            let first = parts.next()?.trim().parse::<u32>().ok()?;
            let count = parts.next()?.trim().parse::<u32>().ok()?;
            (count > 0 && !owner.is_empty()).then(|| (owner.to_string(), IdRange { first, count }))
        })
        .collect()
}

/// Other users' subordinate ranges in /etc/subuid and /etc/subgid, as reservations the planner
/// keeps clear of: a container of this user (root's above all) must never share host ids with a
/// range `useradd` gave someone, or that user's own containers could signal and ptrace it.
pub(crate) fn others_reservations(
    subuid: &str,
    subgid: &str,
    user: Option<&str>,
    uid: u32,
) -> Vec<crate::plan::host::Reservation> {
    let uid_text = uid.to_string();
    let mine = |o: &str| o == uid_text || Some(o) == user;
    let of = |text: &str, file: &str, gids: bool| {
        all_subordinate(text)
            .into_iter()
            .filter(|(o, _)| !mine(o))
            .map(|(owner, r)| crate::plan::host::Reservation {
                holder: format!("user {owner} ({file})"),
                stack: None,
                what: if gids { "subgid" } else { "subuid" }.into(),
                subnet: None,
                uids: (!gids).then_some(r),
                gids: gids.then_some(r),
            })
            .collect::<Vec<_>>()
    };
    let mut out = of(subuid, "/etc/subuid", false);
    out.extend(of(subgid, "/etc/subgid", true));
    out
}

/// One line of a uid_map/gid_map: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapLine {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Parses a uid_map/gid_map text; malformed lines are skipped.
pub(crate) fn id_map(text: &str) -> Vec<MapLine> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace().map(|x| x.parse::<u32>().ok());
            Some(MapLine {
                inside: w.next()??,
                outside: w.next()??,
                count: w.next()??,
            })
        })
        .collect()
}

/// Whether the map is the initial user namespace's identity map `0 0 4294967295`.
pub(crate) fn is_identity_map(text: &str) -> bool {
    id_map(text)
        == [MapLine {
            inside: 0,
            outside: 0,
            count: u32::MAX,
        }]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBUID: &str = "# comment\nalice:100000:65536\n1000:165536:65536\nbob:231072:65536\n\
                          alice:300000:0\nbroken line\nalice:x:5\n";

    #[test]
    fn names_and_numeric_uids_both_count() {
        let r = subordinate_ranges(SUBUID, Some("alice"), 1000);
        assert_eq!(
            r,
            vec![
                IdRange {
                    first: 100_000,
                    count: 65536
                },
                IdRange {
                    first: 165_536,
                    count: 65536
                }
            ]
        );
    }

    #[test]
    fn other_users_and_unknown_names() {
        assert_eq!(
            subordinate_ranges(SUBUID, Some("bob"), 1001),
            vec![IdRange {
                first: 231_072,
                count: 65536
            }]
        );
        assert!(subordinate_ranges(SUBUID, None, 0).is_empty());
        assert!(subordinate_ranges("", Some("root"), 0).is_empty());
    }

    #[test]
    fn other_users_ranges_become_reservations() {
        let r = others_reservations(SUBUID, "bob:5:7\n", Some("alice"), 1000);
        let holders: Vec<(&str, Option<IdRange>, Option<IdRange>)> = r
            .iter()
            .map(|r| (r.holder.as_str(), r.uids, r.gids))
            .collect();
        assert_eq!(
            holders,
            vec![
                (
                    "user bob (/etc/subuid)",
                    Some(IdRange {
                        first: 231_072,
                        count: 65536
                    }),
                    None
                ),
                (
                    "user bob (/etc/subgid)",
                    None,
                    Some(IdRange { first: 5, count: 7 })
                ),
            ]
        );
        assert_eq!(
            all_subordinate(SUBUID).len(),
            3,
            "zero counts and junk skipped"
        );
    }

    #[test]
    fn identity_map_detection() {
        assert!(is_identity_map("         0          0 4294967295\n"));
        assert!(!is_identity_map("         0     100000      65536\n"));
        assert!(!is_identity_map("0 0 4294967295\n1 1 1\n"));
        assert!(!is_identity_map(""));
        assert_eq!(
            id_map("0 1000 1\nbad\n"),
            vec![MapLine {
                inside: 0,
                outside: 1000,
                count: 1
            }]
        );
    }
}
