//! A container's argv from `command`/`args` and the image's ENTRYPOINT/CMD, as the kubelet
//! combines them (website `define-command-argument-container.md`, containerd
//! `WithProcessArgs`), with `$(VAR)` expansion (`ExpandContainerCommandAndArgs`).

use super::env::{Env, expand};
use crate::manifest::types::container::Container;
use crate::runtime::image::ImageConfig;

/// `command` replaces ENTRYPOINT and drops CMD; `args` replaces CMD; neither uses the image's.
pub fn argv(container: &Container, image: &ImageConfig, env: &Env) -> Result<Vec<String>, String> {
    let lookup = |n: &str| env.get(n).map(String::from);
    let command: Vec<String> = container.command.iter().map(|s| expand(s, &lookup)).collect();
    let args: Vec<String> = container.args.iter().map(|s| expand(s, &lookup)).collect();
    let mut argv = if command.is_empty() {
        image.entrypoint.clone().unwrap_or_default()
    } else {
        command
    };
    if !args.is_empty() {
        argv.extend(args);
    } else if container.command.is_empty() {
        argv.extend(image.cmd.clone().unwrap_or_default());
    }
    if argv.is_empty() {
        // containerd says only "no command specified"; say where one could have come from.
        return Err(format!(
            "container {}: no command specified: image {:?} has no ENTRYPOINT or CMD and the container sets no command",
            container.name,
            container.image()
        ));
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageConfig {
        let v = |s: &[&str]| (!s.is_empty()).then(|| s.iter().map(|x| x.to_string()).collect());
        ImageConfig {
            entrypoint: v(entrypoint),
            cmd: v(cmd),
            ..ImageConfig::default()
        }
    }

    fn container(command: &[&str], args: &[&str]) -> Container {
        Container {
            name: "c".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Container::default()
        }
    }

    #[test]
    fn the_four_kubernetes_cases() {
        let img = image(&["/ep"], &["cmd-arg"]);
        let env = Env::default();
        assert_eq!(argv(&container(&[], &[]), &img, &env).unwrap(), ["/ep", "cmd-arg"]);
        assert_eq!(argv(&container(&["/c"], &[]), &img, &env).unwrap(), ["/c"]);
        assert_eq!(argv(&container(&[], &["a"]), &img, &env).unwrap(), ["/ep", "a"]);
        assert_eq!(argv(&container(&["/c"], &["a"]), &img, &env).unwrap(), ["/c", "a"]);
    }

    #[test]
    fn expansion_and_missing_commands() {
        let mut env = Env::default();
        env.set("MSG", "hello".into());
        let c = container(&["echo"], &["$(MSG)", "$$(MSG)"]);
        assert_eq!(argv(&c, &image(&[], &[]), &env).unwrap(), ["echo", "hello", "$(MSG)"]);
        assert_eq!(argv(&container(&[], &["x"]), &image(&[], &["y"]), &env).unwrap(), ["x"]);
        assert_eq!(
            argv(&container(&[], &[]), &image(&[], &[]), &env).unwrap_err(),
            "container c: no command specified: image \"\" has no ENTRYPOINT or CMD and the container sets no command"
        );
    }
}
