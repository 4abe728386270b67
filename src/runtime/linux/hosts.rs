//! The pod's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, in the kubelet's formats.
//!
//! Pure functions: the caller writes the results to files in the pod directory and passes
//! them to the container as bind mounts (`spec/k8s-semantics.md` §10,
//! `pkg/kubelet/kubelet_pods.go`).

/// One `spec.hostAliases` entry: an IP and the names that resolve to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAlias {
    /// The IP address written first on the line.
    pub ip: String,
    /// The host names, in manifest order.
    pub hostnames: Vec<String>,
}

/// Header of the hosts file of a pod with its own network namespace.
const MANAGED_HEADER: &str = "# Kubernetes-managed hosts file.\n";
/// Header of the hosts file of a `hostNetwork` pod.
const MANAGED_HEADER_HOST_NETWORK: &str = "# Kubernetes-managed hosts file (host network).\n";
/// The longest host name the kubelet keeps (`truncatePodHostnameIfNeeded`).
const MAX_HOSTNAME_LEN: usize = 63;

/// The pod's host name: `spec.hostname` when set, else the pod name, truncated to 63
/// characters with trailing `-` and `.` trimmed (`GeneratePodHostNameAndDomain`).
pub fn pod_hostname(pod_name: &str, spec_hostname: Option<&str>) -> String {
    let name = spec_hostname.filter(|h| !h.is_empty()).unwrap_or(pod_name);
    if name.len() <= MAX_HOSTNAME_LEN {
        return name.to_string();
    }
    name[..MAX_HOSTNAME_LEN].trim_end_matches(['-', '.']).to_string()
}

/// The pod's domain `<subdomain>.<namespace>.svc.<cluster-domain>`, or None without subdomain.
pub fn pod_domain(subdomain: Option<&str>, namespace: &str, cluster_domain: &str) -> Option<String> {
    subdomain
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s}.{namespace}.svc.{cluster_domain}"))
}

/// `/etc/hosts` of a pod with its own network namespace (`managedHostsFileContent`).
///
/// `domain` comes from [`pod_domain`]; with a domain each pod IP line carries the FQDN first.
pub fn managed_hosts(pod_ips: &[String], hostname: &str, domain: Option<&str>, aliases: &[HostAlias]) -> String {
    let mut out = String::from(MANAGED_HEADER);
    out.push_str("127.0.0.1\tlocalhost\n");
    out.push_str("::1\tlocalhost ip6-localhost ip6-loopback\n");
    out.push_str("fe00::0\tip6-localnet\n");
    out.push_str("fe00::0\tip6-mcastprefix\n");
    out.push_str("fe00::1\tip6-allnodes\n");
    out.push_str("fe00::2\tip6-allrouters\n");
    for ip in pod_ips {
        match domain {
            Some(domain) => out.push_str(&format!("{ip}\t{hostname}.{domain}\t{hostname}\n")),
            None => out.push_str(&format!("{ip}\t{hostname}\n")),
        }
    }
    out.push_str(&alias_entries(aliases));
    out
}

/// `/etc/hosts` of a `hostNetwork` pod: the node's hosts file verbatim under its own header
/// (`nodeHostsFileContent`).
pub fn host_network_hosts(node_hosts: &str, aliases: &[HostAlias]) -> String {
    let mut out = String::from(MANAGED_HEADER_HOST_NETWORK);
    out.push_str(node_hosts);
    out.push_str(&alias_entries(aliases));
    out
}

/// The HostAliases block, empty without aliases (`hostsEntriesFromHostAliases`).
fn alias_entries(aliases: &[HostAlias]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n# Entries added by HostAliases.\n");
    for alias in aliases {
        out.push_str(&format!("{}\t{}\n", alias.ip, alias.hostnames.join("\t")));
    }
    out
}

/// `/etc/hostname`: the host name and a newline.
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// A resolver configuration, rendered in the order containerd writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines.
    pub nameservers: Vec<String>,
    /// The `search` list.
    pub searches: Vec<String>,
    /// The `options` list (`ndots:5`).
    pub options: Vec<String>,
}

impl ResolvConf {
    /// `dnsPolicy: ClusterFirst`: the cluster resolvers, the pod's namespace search path
    /// followed by the host's search domains, and `ndots:5` (`pkg/kubelet/network/dns/dns.go`).
    pub fn cluster_first(
        namespace: &str,
        cluster_domain: &str,
        nameservers: Vec<String>,
        host_searches: &[String],
    ) -> Self {
        let mut searches = vec![
            format!("{namespace}.svc.{cluster_domain}"),
            format!("svc.{cluster_domain}"),
            cluster_domain.to_string(),
        ];
        searches.extend(host_searches.iter().cloned());
        ResolvConf {
            nameservers,
            searches,
            options: vec!["ndots:5".to_string()],
        }
    }

    /// Parses the `nameserver`, `search`/`domain` and `options` lines of a resolv.conf.
    pub fn parse(text: &str) -> Self {
        let mut conf = ResolvConf::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => conf.nameservers.extend(words.next().map(String::from)),
                Some("search") | Some("domain") => {
                    conf.searches = words.map(String::from).collect();
                }
                Some("options") => conf.options.extend(words.map(String::from)),
                _ => {}
            }
        }
        conf
    }

    /// The file's text; empty sections are left out.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.searches.is_empty() {
            out.push_str(&format!("search {}\n", self.searches.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(ip: &str, names: &[&str]) -> HostAlias {
        HostAlias {
            ip: ip.to_string(),
            hostnames: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn managed_hosts_matches_kubelet_bytes() {
        let aliases = [
            alias("127.0.0.1", &["foo.local", "bar.local"]),
            alias("10.1.2.3", &["foo.remote", "bar.remote"]),
        ];
        let got = managed_hosts(&["10.244.0.5".into()], "hostaliases-pod", None, &aliases);
        assert_eq!(
            got,
            "# Kubernetes-managed hosts file.\n\
             127.0.0.1\tlocalhost\n\
             ::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\n\
             fe00::0\tip6-mcastprefix\n\
             fe00::1\tip6-allnodes\n\
             fe00::2\tip6-allrouters\n\
             10.244.0.5\thostaliases-pod\n\
             \n\
             # Entries added by HostAliases.\n\
             127.0.0.1\tfoo.local\tbar.local\n\
             10.1.2.3\tfoo.remote\tbar.remote\n"
        );
    }

    #[test]
    fn managed_hosts_with_subdomain_and_no_aliases() {
        let domain = pod_domain(Some("sub"), "default", "cluster.local");
        let got = managed_hosts(&["10.0.0.7".into()], "web-0", domain.as_deref(), &[]);
        assert!(got.ends_with("fe00::2\tip6-allrouters\n10.0.0.7\tweb-0.sub.default.svc.cluster.local\tweb-0\n"));
        assert!(!got.contains("HostAliases"));
    }

    #[test]
    fn host_network_hosts_keeps_node_file() {
        let got = host_network_hosts("127.0.0.1 localhost\n", &[alias("1.2.3.4", &["a"])]);
        assert_eq!(
            got,
            "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n\
             # Entries added by HostAliases.\n1.2.3.4\ta\n"
        );
    }

    #[test]
    fn hostname_is_truncated_and_trimmed() {
        let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
        assert_eq!(pod_hostname(&long, None), "a".repeat(62));
        assert_eq!(pod_hostname("pod", Some("custom")), "custom");
        assert_eq!(pod_hostname("pod", Some("")), "pod");
        assert_eq!(hostname_file("pod"), "pod\n");
        assert_eq!(pod_domain(None, "ns", "cluster.local"), None);
    }

    #[test]
    fn resolv_conf_cluster_first_and_parse() {
        let host = ResolvConf::parse("# c\nnameserver 1.1.1.1\nsearch example.com\noptions edns0\n");
        assert_eq!(host.nameservers, vec!["1.1.1.1"]);
        let conf = ResolvConf::cluster_first("prod", "cluster.local", vec!["10.96.0.10".into()], &host.searches);
        assert_eq!(
            conf.render(),
            "search prod.svc.cluster.local svc.cluster.local cluster.local example.com\n\
             nameserver 10.96.0.10\noptions ndots:5\n"
        );
    }
}
