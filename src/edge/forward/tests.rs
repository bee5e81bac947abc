//! The forwarder with real loopback sockets: upstreams on 127.0.0.1 and
//! 127.0.0.2 (one port, two addresses, as two containers are), an edge on
//! 127.0.0.1, and the state file switched between them.

use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

/// Connections the status counts open to `upstream`.
fn open_to(s: &Status, upstream: &str) -> u64 {
    s.open.get(upstream).copied().unwrap_or(0)
}

fn targets(s: &Status, upstream: &str) -> bool {
    s.target.as_deref() == Some(upstream)
}

const ONE: &str = "127.0.0.1";
const TWO: &str = "127.0.0.2";
const NOBODY: &str = "127.0.0.3";

/// Two listeners on one port, on 127.0.0.1 and 127.0.0.2.
fn two_listeners() -> (std::net::TcpListener, std::net::TcpListener, u16) {
    for _ in 0..50 {
        let a = std::net::TcpListener::bind((ONE, 0)).unwrap();
        let port = a.local_addr().unwrap().port();
        if let Ok(b) = std::net::TcpListener::bind((TWO, port)) {
            return (a, b, port);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// An upstream that greets each connection with its name, answers each line
/// with its name and the line, and at the client's end of input says `bye`
/// and closes.
fn upstream(listener: std::net::TcpListener, name: &'static str) -> JoinHandle<()> {
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let _ = w.write_all(format!("{name}\n").as_bytes()).await;
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    let _ = w.write_all(format!("{name} {l}\n").as_bytes()).await;
                }
                let _ = w.write_all(format!("{name} bye\n").as_bytes()).await;
            });
        }
    })
}

struct Running {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<io::Result<()>>,
}

impl Running {
    fn state(&self) -> PathBuf {
        self.dir.path().join("target")
    }

    fn set(&self, target: &str) {
        std::fs::write(self.state(), target::line(target)).unwrap();
    }

    fn status(&self) -> Option<Status> {
        std::fs::read(self.dir.path().join("status"))
            .ok()
            .and_then(|b| Status::parse(&b))
    }

    /// Polls the status until `ok` holds, for at most two seconds.
    async fn status_until(&self, what: &str, ok: impl Fn(&Status) -> bool) -> Status {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(s) = self.status().filter(|s| ok(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: status {:?}",
                self.status()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stop(mut self) -> Duration {
        let started = Instant::now();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.served)
            .await
            .expect("the edge stops")
            .expect("the edge's task")
            .expect("the edge serves without error");
        started.elapsed()
    }
}

/// An edge on 127.0.0.1 forwarding to `port`, its state set to `target`.
async fn edge(target: Option<&str>, port: u16, tune: impl FnOnce(&mut Options)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(
        dir.path().join("target"),
        vec![Forward {
            ip: None,
            listen: 0,
            target: port,
        }],
    );
    options.status = Some(dir.path().join("status"));
    options.listen_ip = ONE.parse().unwrap();
    options.poll = Duration::from_millis(5);
    options.patience = Duration::from_millis(300);
    options.grace = Duration::from_secs(5);
    tune(&mut options);
    if let Some(t) = target {
        std::fs::write(&options.state, target::line(t)).unwrap();
    }
    let e = Edge::bind(options).await.unwrap();
    let addr = e.local_addrs()[0];
    let (stop, stopped) = oneshot::channel();
    let served = tokio::spawn(e.serve(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        dir,
        stop: Some(stop),
        served,
    }
}

struct Client {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    w: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).await.unwrap();
        let (r, w) = s.into_split();
        Client {
            lines: BufReader::new(r).lines(),
            w,
        }
    }

    /// The next line, or None when the connection ended.
    async fn line(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("a line or the end within 5 s")
            .ok()
            .flatten()
    }

    async fn say(&mut self, text: &str) -> Option<String> {
        self.w
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
        self.line().await
    }
}

fn exists(p: &Path) -> bool {
    p.exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_follow_the_switch_and_an_open_one_stays_on_its_upstream() {
    let (a, b, port) = two_listeners();
    let _one = upstream(a, "one");
    let _two = upstream(b, "two");
    let e = edge(Some(ONE), port, |_| {}).await;

    let mut early = Client::connect(e.addr).await;
    assert_eq!(early.line().await.as_deref(), Some("one"));
    e.status_until("counted", |s| open_to(s, ONE) == 1).await;

    let switched = Instant::now();
    e.set(TWO);
    e.status_until("switched", |s| targets(s, TWO)).await;
    let took = switched.elapsed();
    assert!(
        took < Duration::from_millis(200),
        "the switch took {took:?}"
    );
    let mut late = Client::connect(e.addr).await;
    assert_eq!(late.line().await.as_deref(), Some("two"));

    // The connection from before the switch still talks to one.
    assert_eq!(early.say("ping").await.as_deref(), Some("one ping"));
    assert_eq!(late.say("ping").await.as_deref(), Some("two ping"));
    let s = e
        .status_until("both counted", |s| open_to(s, TWO) == 1)
        .await;
    assert_eq!(open_to(&s, ONE), 1, "{s:?}");

    // Drained once the early connection closes.
    drop(early);
    e.status_until("one drained", |s| open_to(s, ONE) == 0)
        .await;
    drop(late);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_close_passes_through_and_the_answer_still_arrives() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(Some(ONE), port, |_| {}).await;
    let mut s = TcpStream::connect(e.addr).await.unwrap();
    s.write_all(b"x\ny\n").await.unwrap();
    s.shutdown().await.unwrap();
    let mut all = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut all))
        .await
        .expect("the upstream's answer and its end")
        .unwrap();
    assert_eq!(all, "one\none x\none y\none bye\n");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_target_connections_are_closed_until_one_is_written() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(None, port, |_| {}).await;
    assert!(!exists(&e.state()));
    let mut refused = Client::connect(e.addr).await;
    assert_eq!(refused.line().await, None);
    e.status_until("no target", |s| s.target.is_none()).await;

    e.set(ONE);
    e.status_until("a target", |s| targets(s, ONE)).await;
    let mut c = Client::connect(e.addr).await;
    assert_eq!(c.line().await.as_deref(), Some("one"));
    drop(c);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_closes_the_client_after_the_patience() {
    let (_a, _b, port) = two_listeners();
    let e = edge(Some(NOBODY), port, |_| {}).await;
    let started = Instant::now();
    let mut c = Client::connect(e.addr).await;
    assert_eq!(c.line().await, None);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "closed after {waited:?}"
    );
    e.status_until("not counted", |s| s.open.is_empty()).await;
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_waiting_on_a_dead_upstream_moves_to_the_new_target() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(Some(NOBODY), port, |o| o.patience = Duration::from_secs(3)).await;
    let mut c = Client::connect(e.addr).await;
    e.status_until("waiting on nobody", |s| open_to(s, NOBODY) == 1)
        .await;
    e.set(ONE);
    assert_eq!(c.line().await.as_deref(), Some("one"));
    let s = e.status_until("moved", |s| open_to(s, ONE) == 1).await;
    assert_eq!(open_to(&s, NOBODY), 0);
    drop(c);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_is_resolved() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(Some("localhost"), port, |_| {}).await;
    let mut c = Client::connect(e.addr).await;
    assert_eq!(c.line().await.as_deref(), Some("one"));
    drop(c);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_edge_refuses_new_connections_and_lets_open_ones_finish() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(Some(ONE), port, |_| {}).await;
    let mut c = Client::connect(e.addr).await;
    assert_eq!(c.line().await.as_deref(), Some("one"));
    let addr = e.addr;
    let status = e.dir.path().join("status");
    let stopping = tokio::spawn(e.stop());

    // The listener closes; the open connection goes on.
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.say("still").await.as_deref(), Some("one still"));
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let s = std::fs::read(&status).ok().and_then(|b| Status::parse(&b));
        if let Some(s) = s.filter(|s| s.stopping) {
            assert_eq!(open_to(&s, ONE), 1, "{s:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no status says stopping");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        !stopping.is_finished(),
        "the edge waits for the open connection"
    );

    drop(c);
    let took = stopping.await.unwrap();
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_edge_gives_up_on_open_connections_after_the_grace() {
    let (a, _b, port) = two_listeners();
    let _one = upstream(a, "one");
    let e = edge(Some(ONE), port, |o| o.grace = Duration::from_millis(300)).await;
    let mut c = Client::connect(e.addr).await;
    assert_eq!(c.line().await.as_deref(), Some("one"));
    let took = e.stop().await;
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "stopped after {took:?}"
    );
}

#[test]
fn a_names_addresses_take_turns_ipv4_first() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let ips = [
        ip("10.0.0.1"),
        ip("10.0.0.2"),
        ip("10.0.0.3"),
        ip("fd00::1"),
    ];
    let firsts: Vec<IpAddr> = (0..4).map(|t| in_turn(&ips, t)[0]).collect();
    assert_eq!(
        firsts,
        [
            ip("10.0.0.1"),
            ip("10.0.0.2"),
            ip("10.0.0.3"),
            ip("10.0.0.1")
        ]
    );
    assert_eq!(
        in_turn(&ips, 1),
        [
            ip("10.0.0.2"),
            ip("10.0.0.3"),
            ip("10.0.0.1"),
            ip("fd00::1")
        ]
    );
    assert_eq!(in_turn(&[], 7), Vec::<IpAddr>::new());
    assert_eq!(in_turn(&[ip("fd00::1")], 7), [ip("fd00::1")]);
}

#[test]
fn forwards_are_parsed_from_the_command_line() {
    let f = |ip: Option<&str>, listen, target| Forward {
        ip: ip.map(|i| i.parse().unwrap()),
        listen,
        target,
    };
    assert_eq!("80:8080".parse(), Ok(f(None, 80, 8080)));
    assert_eq!("443".parse(), Ok(f(None, 443, 443)));
    assert_eq!(
        "127.0.0.1:18080:80".parse(),
        Ok(f(Some("127.0.0.1"), 18080, 80))
    );
    assert_eq!("[::1]:18080:80".parse(), Ok(f(Some("::1"), 18080, 80)));
    for text in ["80:8080", "127.0.0.1:18080:80", "[::1]:18080:80"] {
        let parsed: Forward = text.parse().unwrap();
        assert_eq!(parsed.to_string(), text, "written as it is read");
    }
    for bad in [
        "", "0", "80:", ":80", "70000", "80:x", "80:81:82", "x:80:80",
    ] {
        assert!(bad.parse::<Forward>().is_err(), "{bad:?} was taken");
    }
}

#[tokio::test]
async fn a_forward_without_an_address_listens_on_ipv4_and_ipv6() {
    let f = Forward {
        ip: None,
        listen: 0,
        target: 1,
    };
    let l = listen(&f, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    let v4 = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await;
    assert!(v4.is_ok(), "IPv4 is taken: {v4:?}");
    if l.local_addr().unwrap().is_ipv6() {
        let v6 = TcpStream::connect((std::net::Ipv6Addr::LOCALHOST, port)).await;
        assert!(v6.is_ok(), "IPv6 is taken: {v6:?}");
    }
    let one = listen(
        &Forward {
            ip: Some(Ipv4Addr::LOCALHOST.into()),
            ..f
        },
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    )
    .await
    .unwrap();
    assert_eq!(one.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
}
