#![allow(clippy::unwrap_used)] // a test server that fails loudly is what tests want

//! A real SMTP server on loopback for the tests: the `mailin` crate's SMTP state machine
//! (the protocol, AUTH PLAIN, STARTTLS) over std sockets and rustls, a thread per
//! connection. It keeps every message it accepted; what it refuses, and where it stalls,
//! each test sets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};

/// How clients protect the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    /// Plain, then STARTTLS (offered, and required before AUTH by the client).
    Starttls,
    /// TLS from the first byte.
    Wrapper,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// The login it came under.
    pub user: Option<String>,
}

impl Received {
    /// An unfolded header's raw value.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }
}

#[derive(Default)]
struct Rules {
    /// Recipient → (code, text, times left; `None`: always).
    refusals: HashMap<String, (u16, String, Option<u32>)>,
    /// The message (counted from 1 over the server's life) whose DATA waits for `release`.
    stall_at: Option<usize>,
    data_starts: usize,
    stalled: bool,
    released: bool,
}

struct Shared {
    received: Mutex<Vec<Received>>,
    rules: Mutex<Rules>,
    changed: Condvar,
    login: Option<(String, String)>,
}

pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Shared>,
}

impl SmtpServer {
    /// Starts a server on a free loopback port; with a login, AUTH is demanded.
    pub fn start(tls: SmtpTls, login: Option<(&str, &str)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            received: Mutex::default(),
            rules: Mutex::default(),
            changed: Condvar::new(),
            login: login.map(|(u, p)| (u.to_owned(), p.to_owned())),
        });
        let config = (tls != SmtpTls::None).then(tls_config);
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, config) = (s.clone(), config.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, s, tls, config);
                });
            }
        });
        SmtpServer { port, shared }
    }

    /// The CA that signed the server's certificate (PEM), for the client's settings.
    pub fn ca_pem() -> String {
        include_str!("../certs/ca.pem").to_owned()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Answers RCPT TO `rcpt` with `code text`, `times` times (`None`: always).
    pub fn refuse(&self, rcpt: &str, code: u16, text: &str, times: Option<u32>) {
        self.shared.rules.lock().unwrap().refusals.insert(rcpt.to_lowercase(), (code, text.to_owned(), times));
    }

    /// The `n`-th message from now on (1 = the next) stops at DATA until [`release`].
    pub fn stall_message(&self, n: usize) {
        let mut r = self.shared.rules.lock().unwrap();
        r.stall_at = Some(r.data_starts + n);
        r.stalled = false;
        r.released = false;
    }

    /// Waits until a client is held at the stalled message.
    pub fn wait_stalled(&self, timeout: Duration) -> bool {
        let r = self.shared.rules.lock().unwrap();
        let (r, _) = self.shared.changed.wait_timeout_while(r, timeout, |r| !r.stalled).unwrap();
        r.stalled
    }

    /// Lets the stalled client go on.
    pub fn release(&self) {
        self.shared.rules.lock().unwrap().released = true;
        self.shared.changed.notify_all();
    }
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("../certs/server.pem")).collect::<Result<Vec<_>, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../certs/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_no_client_auth().with_single_cert(certs, key).unwrap();
    Arc::new(config)
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

#[derive(Clone)]
struct Session {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    user: Option<String>,
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut rules = self.shared.rules.lock().unwrap();
        if let Some((code, text, times)) = rules.refusals.get_mut(&to.to_lowercase()) {
            let refuse = times.is_none_or(|t| t > 0);
            if let Some(t) = times {
                *t = t.saturating_sub(1);
            }
            if refuse {
                return Response::custom(*code, text.clone());
            }
        }
        self.to.push(to.to_owned());
        mailin::response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        let mut rules = self.shared.rules.lock().unwrap();
        rules.data_starts += 1;
        if rules.stall_at == Some(rules.data_starts) {
            rules.stalled = true;
            self.shared.changed.notify_all();
            let _unused = self.shared.changed.wait_while(rules, |r| !r.released).unwrap();
        }
        mailin::response::START_DATA
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let got = Received { from: self.from.clone(), to: self.to.clone(), data: String::from_utf8_lossy(&self.data).into_owned(), user: self.user.clone() };
        self.shared.received.lock().unwrap().push(got);
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        match &self.shared.login {
            Some((u, p)) if u == authentication_id && p == password => {
                self.user = Some(u.clone());
                mailin::response::AUTH_OK
            }
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

fn serve(tcp: TcpStream, shared: Arc<Shared>, tls: SmtpTls, config: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<()> {
    let ip = tcp.peer_addr()?.ip();
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut builder = SessionBuilder::new("smtp.test.local");
    if tls == SmtpTls::Starttls {
        builder.enable_start_tls();
    }
    if shared.login.is_some() {
        builder.enable_auth(AuthMechanism::Plain);
    }
    let wrapped = tls == SmtpTls::Wrapper;
    let handler = Session { shared, from: String::new(), to: vec![], data: vec![], user: None };
    let mut session = builder.build(ip, handler);
    let mut stream: Box<dyn Stream> = match (&config, wrapped) {
        (Some(c), true) => Box::new(rustls::StreamOwned::new(rustls::ServerConnection::new(c.clone()).map_err(std::io::Error::other)?, tcp)),
        _ => Box::new(tcp),
    };
    if wrapped {
        session.tls_active();
    }
    session.greeting().write_to(&mut stream)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            // The client went away: an unfinished message is dropped, as a real server does.
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => {
                response.write_to(reader.get_mut())?;
                reader.get_mut().flush()?;
            }
            Action::Close => {
                response.write_to(reader.get_mut())?;
                reader.get_mut().flush()?;
                return Ok(());
            }
            Action::UpgradeTls => {
                response.write_to(reader.get_mut())?;
                reader.get_mut().flush()?;
                let Some(c) = &config else { return Ok(()) };
                let plain = reader.into_inner();
                let tls_stream: Box<dyn Stream> = Box::new(rustls::StreamOwned::new(rustls::ServerConnection::new(c.clone()).map_err(std::io::Error::other)?, plain));
                reader = BufReader::new(tls_stream);
                session.tls_active();
            }
        }
    }
}
