//! The httpGet and tcpSocket checks: a minimal HTTP/1.1 client and a TCP connect, with the
//! kubelet's success rules and messages (pkg/probe/http/http.go `DoHTTPProbe`,
//! pkg/probe/tcp/tcp.go). They block, so the supervisor runs them in a forked child that has
//! joined the pod's network namespace.

use crate::manifest::IntOrString;
use crate::manifest::types::container::Container;
use crate::manifest::types::probe::{HttpGetAction, TcpSocketAction};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The `User-Agent` the kubelet sends (`kube-probe/<major>.<minor>`).
pub const USER_AGENT: &str = "kube-probe/1.31";

/// The `User-Agent` of lifecycle hooks' requests (`NewRequestForHTTPGetAction(..., "lifecycle")`).
pub const HOOK_USER_AGENT: &str = "kube-lifecycle/1.31";

/// The host probes go to when `host` is empty. Upstream uses the pod IP; inside the pod's
/// network namespace the loopback address reaches the same listeners bound to all addresses.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// How much of a response is read looking for the status line and the headers' end.
const MAX_HEAD: usize = 10 * 1024;

/// A resolved network check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetCheck {
    /// A `tcpSocket` check: succeeds when a TCP connection opens.
    Tcp {
        /// The host to connect to ([`DEFAULT_HOST`] when the probe gives none).
        host: String,
        /// The port, resolved to a number.
        port: u16,
    },
    /// An `httpGet` check.
    Http(HttpRequest),
}

/// A resolved `httpGet` probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The host to connect to ([`DEFAULT_HOST`] when the probe gives none).
    pub host: String,
    /// The port, resolved to a number.
    pub port: u16,
    /// The request path, always starting with `/`.
    pub path: String,
    /// `httpHeaders`, in order.
    pub headers: Vec<(String, String)>,
}

/// Resolves a probe port: a number, or the name of one of `container`'s ports
/// (`findPortByName` in pkg/kubelet/prober/prober.go).
pub fn resolve_port(port: Option<&IntOrString>, container: &Container) -> Result<u16, String> {
    match port {
        Some(IntOrString::Int(n)) => u16::try_from(*n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid port number: {n}")),
        Some(IntOrString::String(name)) => container
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name)),
        None => Err("missing port".to_string()),
    }
}

fn host_or_default(host: Option<&str>) -> String {
    host.filter(|h| !h.is_empty()).unwrap_or(DEFAULT_HOST).to_string()
}

impl NetCheck {
    /// The check an `httpGet` probe of `container` makes.
    pub fn http(g: &HttpGetAction, container: &Container) -> Result<NetCheck, String> {
        let path = g.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        Ok(NetCheck::Http(HttpRequest {
            host: host_or_default(g.host.as_deref()),
            port: resolve_port(g.port.as_ref(), container)?,
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
            headers: g
                .http_headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }))
    }

    /// The check a `tcpSocket` probe of `container` makes.
    pub fn tcp(s: &TcpSocketAction, container: &Container) -> Result<NetCheck, String> {
        Ok(NetCheck::Tcp {
            host: host_or_default(s.host.as_deref()),
            port: resolve_port(s.port.as_ref(), container)?,
        })
    }

    /// Runs the check within `timeout`: success, and the output the kubelet would record.
    pub fn run(&self, timeout: Duration) -> (bool, String) {
        let deadline = Instant::now() + timeout;
        match self {
            NetCheck::Tcp { host, port } => match connect(host, *port, deadline) {
                Ok(_) => (true, String::new()),
                Err(e) => (false, e),
            },
            NetCheck::Http(req) => match get(req, deadline) {
                Ok(code) if (200..400).contains(&code) => {
                    (true, format!("HTTP probe succeeded with statuscode: {code}"))
                }
                Ok(code) => (false, format!("HTTP probe failed with statuscode: {code}")),
                Err(e) => (false, format!("Get \"{}\": {e}", req.url())),
            },
        }
    }
}

impl HttpRequest {
    /// `http://host:port/path`, as Go prints the URL in errors.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.authority(), self.path)
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request bytes. `httpHeaders` replace the defaults of the same name (upstream lets
    /// them override `Host`, `User-Agent` and `Accept`).
    pub fn render(&self) -> String {
        self.render_as(USER_AGENT)
    }

    /// A lifecycle hook's GET within `timeout`. Any response is success: the kubelet's
    /// `runHTTPHandler` (pkg/kubelet/lifecycle/handlers.go) fails only when no response
    /// comes, whatever the status code.
    pub fn run_hook(&self, timeout: Duration) -> Result<(), String> {
        get_as(self, Instant::now() + timeout, HOOK_USER_AGENT)
            .map(drop)
            .map_err(|e| format!("Get \"{}\": {e}", self.url()))
    }

    fn render_as(&self, user_agent: &str) -> String {
        let custom = |name: &str| self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let mut text = format!("GET {} HTTP/1.1\r\n", self.path);
        for (name, value) in [
            ("Host", self.authority()),
            ("User-Agent", user_agent.to_string()),
            ("Accept", "*/*".to_string()),
        ] {
            if !custom(name) {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("Connection") {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        text.push_str("Connection: close\r\n\r\n");
        text
    }
}

/// The status code of a response head (`HTTP/1.1 200 OK`).
pub fn status_code(head: &[u8]) -> Result<u16, String> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .or_else(|| head.iter().position(|b| *b == b'\n'))
        .ok_or("malformed HTTP response: no status line")?;
    let line = String::from_utf8_lossy(&head[..line_end]);
    let mut parts = line.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(format!("malformed HTTP response {line:?}"));
    };
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(format!("malformed HTTP response {line:?}"));
    }
    code.parse().map_err(|_| format!("malformed HTTP response {line:?}"))
}

fn left(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

/// Go's `dial tcp` errors: `dial tcp 127.0.0.1:80: connect: connection refused`.
fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let target = format!("{host}:{port}");
    let addrs = resolve(host, || std::fs::read_to_string("/etc/hosts").unwrap_or_default());
    let mut last = format!("dial tcp: lookup {host}: no such host");
    for ip in addrs {
        let addr = SocketAddr::new(ip, port);
        let Some(budget) = left(deadline) else {
            return Err(format!("dial tcp {target}: i/o timeout"));
        };
        match TcpStream::connect_timeout(&addr, budget) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => last = format!("dial tcp {addr}: i/o timeout"),
            Err(e) => last = format!("dial tcp {addr}: connect: {}", go_error(&e)),
        }
    }
    Err(last)
}

/// The addresses of a probe's `host`: an IP literal, `localhost`, or a name in the node's
/// hosts file (`hosts_file` gives the text of `/etc/hosts`; it is read only for a name). Names are not looked up in DNS: rekon has
/// no cluster DNS, and the supervisor does not link the C library's resolver (NSS loads
/// shared objects and would double every pod supervisor's resident memory).
pub fn resolve(host: &str, hosts_file: impl FnOnce() -> String) -> Vec<IpAddr> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return vec![ip];
    }
    let hosts = hosts_file();
    let mut found: Vec<IpAddr> = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let ip = fields.next()?.parse::<IpAddr>().ok()?;
            fields.any(|name| name.eq_ignore_ascii_case(host)).then_some(ip)
        })
        .collect();
    if found.is_empty() && host.eq_ignore_ascii_case("localhost") {
        found = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
    }
    found
}

fn get(req: &HttpRequest, deadline: Instant) -> Result<u16, String> {
    get_as(req, deadline, USER_AGENT)
}

fn get_as(req: &HttpRequest, deadline: Instant, user_agent: &str) -> Result<u16, String> {
    let mut stream = connect(&req.host, req.port, deadline)?;
    let timed_out = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    let budget = left(deadline).ok_or(timed_out)?;
    stream.set_write_timeout(Some(budget)).map_err(|e| go_error(&e))?;
    stream
        .write_all(req.render_as(user_agent).as_bytes())
        .map_err(|e| format!("write: {}", go_error(&e)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < MAX_HEAD {
        let budget = left(deadline).ok_or(timed_out)?;
        stream.set_read_timeout(Some(budget)).map_err(|e| go_error(&e))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(timed_out.to_string());
            }
            Err(e) => return Err(format!("read: {}", go_error(&e))),
        }
    }
    if head.is_empty() {
        return Err("EOF".to_string());
    }
    status_code(&head)
}

/// An OS error the way Go prints it: the lowercase strerror text, no `(os error N)`.
fn go_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = nix::errno::Errno::from_raw(n).desc();
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_resolve_from_literals_the_hosts_file_and_localhost() {
        let hosts =
            "127.0.0.1 localhost\n# 10.0.0.9 commented\n10.1.2.3  db.local db # the database\n::1 ip6-localhost\n";
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let file = || hosts.to_string();
        let unread = || -> String { panic!("an IP literal needs no hosts file") };
        assert_eq!(resolve("10.9.8.7", unread), vec![ip("10.9.8.7")]);
        assert_eq!(resolve("[::1]", file), vec![ip("::1")]);
        assert_eq!(resolve("DB", file), vec![ip("10.1.2.3")]);
        assert_eq!(resolve("localhost", file), vec![ip("127.0.0.1")]);
        assert_eq!(resolve("localhost", String::new), vec![ip("127.0.0.1"), ip("::1")]);
        assert!(resolve("commented", file).is_empty());
        assert!(resolve("example.com", file).is_empty());
    }
    use crate::manifest::types::container::ContainerPort;
    use crate::manifest::types::probe::HttpHeader;
    use std::net::TcpListener;

    fn web() -> Container {
        Container {
            name: "web".into(),
            ports: vec![ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn ports_resolve_by_number_or_container_port_name() {
        let c = web();
        assert_eq!(resolve_port(Some(&IntOrString::Int(81)), &c), Ok(81));
        assert_eq!(resolve_port(Some(&IntOrString::String("http".into())), &c), Ok(8080));
        assert_eq!(
            resolve_port(Some(&IntOrString::String("admin".into())), &c),
            Err("couldn't find port: admin in web".into())
        );
        assert_eq!(
            resolve_port(Some(&IntOrString::Int(70000)), &c),
            Err("invalid port number: 70000".into())
        );
    }

    #[test]
    fn request_has_the_kubelet_headers_and_custom_ones_override() {
        let g = HttpGetAction {
            path: Some("healthz".into()),
            port: Some(IntOrString::String("http".into())),
            http_headers: vec![
                HttpHeader {
                    name: "X-Custom".into(),
                    value: "a".into(),
                },
                HttpHeader {
                    name: "accept".into(),
                    value: "text/plain".into(),
                },
            ],
            ..Default::default()
        };
        let NetCheck::Http(req) = NetCheck::http(&g, &web()).unwrap() else {
            panic!()
        };
        assert_eq!(req.url(), "http://127.0.0.1:8080/healthz");
        assert_eq!(
            req.render(),
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: kube-probe/1.31\r\nX-Custom: a\r\naccept: text/plain\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn status_lines_parse_or_are_malformed() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Ok(204));
        assert_eq!(status_code(b"HTTP/1.0 500\r\n\r\n"), Ok(500));
        assert_eq!(
            status_code(b"SSH-2.0-OpenSSH\r\n"),
            Err("malformed HTTP response \"SSH-2.0-OpenSSH\"".into())
        );
        assert!(status_code(b"HTTP/1.1 20").is_err());
    }

    /// Serves one connection with `response` on a loopback port; returns the port and what
    /// the client sent.
    fn serve_once(response: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(response.as_bytes()).unwrap();
            String::from_utf8(got).unwrap()
        });
        (port, handle)
    }

    fn http(port: u16) -> NetCheck {
        NetCheck::Http(HttpRequest {
            host: "127.0.0.1".into(),
            port,
            path: "/".into(),
            headers: vec![],
        })
    }

    #[test]
    fn http_success_is_200_to_399() {
        let table = [
            (
                "HTTP/1.1 200 OK\r\n\r\n",
                true,
                "HTTP probe succeeded with statuscode: 200",
            ),
            (
                "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
                true,
                "HTTP probe succeeded with statuscode: 302",
            ),
            (
                "HTTP/1.1 404 Not Found\r\n\r\n",
                false,
                "HTTP probe failed with statuscode: 404",
            ),
            (
                "HTTP/1.1 500 Oops\r\n\r\n",
                false,
                "HTTP probe failed with statuscode: 500",
            ),
        ];
        for (response, ok, message) in table {
            let (port, server) = serve_once(response);
            assert_eq!(http(port).run(Duration::from_secs(5)), (ok, message.to_string()));
            let sent = server.join().unwrap();
            assert!(sent.starts_with("GET / HTTP/1.1\r\n"), "{sent}");
            assert!(sent.contains("\r\nUser-Agent: kube-probe/1.31\r\n"), "{sent}");
        }
    }

    #[test]
    fn refused_connections_fail_with_go_style_messages() {
        // A port that was just free: bound, then closed.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tcp = NetCheck::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let refused = format!("dial tcp 127.0.0.1:{port}: connect: connection refused");
        assert_eq!(tcp.run(Duration::from_secs(1)), (false, refused.clone()));
        assert_eq!(
            http(port).run(Duration::from_secs(1)),
            (false, format!("Get \"http://127.0.0.1:{port}/\": {refused}"))
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = NetCheck::Tcp {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        };
        assert_eq!(open.run(Duration::from_secs(1)), (true, String::new()));
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let (ok, message) = http(port).run(Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!ok);
        assert_eq!(
            message,
            format!(
                "Get \"http://127.0.0.1:{port}/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )
        );
        drop(listener);
    }
}
