//! The identity a container runs as: `runAsUser`/`runAsGroup` (container over pod), else the
//! image's `USER` (numeric, or a name looked up in the image's `/etc/passwd`).

use crate::manifest::types::container::Container;
use crate::manifest::types::pod::PodSpec;
use crate::runtime::image::ImageConfig;
use crate::runtime::linux::User;
use std::path::PathBuf;

/// The user of `container`, or None for root with no extra groups.
pub fn resolve(
    pod: &PodSpec,
    container: &Container,
    image: &ImageConfig,
    lower_dirs: &[PathBuf],
) -> Result<Option<User>, String> {
    let csc = container.security_context.as_ref();
    let psc = pod.security_context.as_ref();
    let run_as_user = csc.and_then(|s| s.run_as_user).or(psc.and_then(|s| s.run_as_user));
    let run_as_group = csc.and_then(|s| s.run_as_group).or(psc.and_then(|s| s.run_as_group));
    let groups: Vec<u32> = psc
        .map(|s| s.supplemental_groups.iter().map(|g| *g as u32).collect())
        .unwrap_or_default();
    let (image_uid, image_gid) = match image.user.as_deref().filter(|u| !u.is_empty()) {
        None => (None, None),
        Some(spec) => {
            let (user, group) = spec.split_once(':').map_or((spec, None), |(u, g)| (u, Some(g)));
            let (uid, passwd_gid) = lookup(user, lower_dirs)
                .ok_or_else(|| format!("container {}: unable to find user {user} in the image", container.name))?;
            let gid = match group {
                Some(g) => Some(g.parse::<u32>().map_err(|_| {
                    format!(
                        "container {}: group names in the image's USER are not supported: {g}",
                        container.name
                    )
                })?),
                None => Some(passwd_gid),
            };
            (Some(uid), gid)
        }
    };
    let uid = run_as_user.map(|u| u as u32).or(image_uid);
    let gid = run_as_group.map(|g| g as u32).or(image_gid).or_else(|| {
        // With only runAsUser, the primary group comes from the image's /etc/passwd.
        uid.and_then(|u| passwd_entries(lower_dirs).find(|e| e.1 == u).map(|e| e.2))
    });
    if uid.is_none() && gid.is_none() && groups.is_empty() {
        return Ok(None);
    }
    Ok(Some(User {
        uid: uid.unwrap_or(0),
        gid: gid.unwrap_or(0),
        additional_gids: groups,
    }))
}

/// `(uid, gid)` of a numeric user or a name in `/etc/passwd`.
fn lookup(user: &str, lower_dirs: &[PathBuf]) -> Option<(u32, u32)> {
    if let Ok(uid) = user.parse::<u32>() {
        let gid = passwd_entries(lower_dirs).find(|e| e.1 == uid).map_or(0, |e| e.2);
        return Some((uid, gid));
    }
    passwd_entries(lower_dirs)
        .find(|e| e.0 == user)
        .map(|e| (e.1, e.2))
        .or_else(|| (user == "root").then_some((0, 0)))
}

/// The entries of the top-most `/etc/passwd` among the image layers.
fn passwd_entries(lower_dirs: &[PathBuf]) -> impl Iterator<Item = (String, u32, u32)> {
    let text = lower_dirs
        .iter()
        .find_map(|d| std::fs::read_to_string(d.join("etc/passwd")).ok())
        .unwrap_or_default();
    let entries: Vec<(String, u32, u32)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
        .collect();
    entries.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::container::SecurityContext;

    #[test]
    fn users_from_spec_and_image() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/:/bin/sh\nweb:x:33:44::/:/bin/sh\n",
        )
        .unwrap();
        let layers = vec![dir.path().to_path_buf()];
        let pod = PodSpec::default();
        let mut c = Container::default();
        let image = |u: &str| ImageConfig {
            user: Some(u.into()),
            ..Default::default()
        };
        assert_eq!(resolve(&pod, &c, &ImageConfig::default(), &layers), Ok(None));
        let web = resolve(&pod, &c, &image("web"), &layers).unwrap().unwrap();
        assert_eq!((web.uid, web.gid), (33, 44));
        c.security_context = Some(SecurityContext {
            run_as_user: Some(1000),
            ..Default::default()
        });
        let u = resolve(&pod, &c, &image("web"), &layers).unwrap().unwrap();
        assert_eq!((u.uid, u.gid), (1000, 44));
        c.security_context = None;
        assert_eq!(
            resolve(&pod, &c, &image("nobody"), &layers),
            Err("container : unable to find user nobody in the image".to_string())
        );
    }
}
