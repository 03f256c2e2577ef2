//! `hostscope chains` against real servers on loopback: nginx (a reverse
//! proxy, an event loop) -> a Python service on the standard library's
//! threading HTTP server -> redis-server (two pipelined commands) and
//! another Python service -> PostgreSQL. The session key in Redis has
//! expired, so the service answers 503 and nginx 502: every hop, its status,
//! its link and the culprit must come out, keep-alive connections carrying
//! several requests must not mix them up, and the secrets the client sends
//! must appear nowhere.

use std::time::Duration;

use hostscope_tests::running::{Finished, Running};
use hostscope_tests::stack::{SECRET, Stack};
use hostscope_tests::{TempDir, hostscope};

/// `line` without its trailing duration and culprit mark.
fn head(line: &str) -> &str {
    let line = line.strip_suffix("  <- culprit").unwrap_or(line);
    let end = line
        .rmatch_indices("  ")
        .next()
        .map_or(line.len(), |(at, _)| at);
    &line[..end]
}

#[test]
fn an_expired_redis_key_behind_nginx_is_the_culprit_of_every_502() {
    let dir = TempDir::new("hs-chains-servers");
    let stack = Stack::start(dir.path());

    let watcher = Running::attached(
        hostscope().args(["chains", "--all", "--duration", "8s", "--errors"]),
        1,
    );
    let client = stack.client(3);
    // It stops on its own after --duration; give it ample time to print.
    let Finished {
        status,
        stdout,
        stderr,
    } = watcher.finish(Duration::from_secs(40));
    let answers = String::from_utf8_lossy(&client.stdout);
    let service_log = stack.service_log();
    let context = format!(
        "client: {answers}{}\nservices:\n{service_log}\nhostscope stdout:\n{stdout}\nhostscope stderr:\n{stderr}",
        String::from_utf8_lossy(&client.stderr)
    );

    // The setup did what the chain must show: 502s on one client
    // connection, nginx's request id carried down to orders, the secrets
    // sent all the way to the app.
    let client_ports: Vec<&str> = answers
        .lines()
        .map(|l| {
            l.strip_prefix("502 ")
                .unwrap_or_else(|| panic!("nginx answered {l:?}, not 502\n{context}"))
        })
        .collect();
    assert_eq!(client_ports.len(), 3, "three answers\n{context}");
    assert!(
        client_ports.iter().all(|p| *p == client_ports[0]),
        "one keep-alive client connection\n{context}"
    );
    let checkouts: Vec<&str> = service_log
        .lines()
        .filter(|l| l.starts_with("checkout "))
        .collect();
    assert_eq!(checkouts.len(), 3, "the app served three\n{context}");
    for line in &checkouts {
        assert!(
            line.contains(" secrets=True session=nil orders=200"),
            "{line}\n{context}"
        );
        let rid = line
            .split_once(" rid=")
            .and_then(|(_, r)| r.split(' ').next())
            .expect("a request id");
        assert!(
            rid.len() == 32 && rid.bytes().all(|b| b.is_ascii_hexdigit()),
            "nginx set the id: {line}\n{context}"
        );
        assert!(
            service_log
                .lines()
                .any(|l| l.starts_with("orders ") && l.contains(&format!(" rid={rid} "))),
            "the app propagated {rid}\n{context}"
        );
    }
    let peers: Vec<&str> = checkouts
        .iter()
        .map(|l| l.split(' ').nth(1).expect("a peer"))
        .collect();
    assert!(
        peers.iter().all(|p| *p == peers[0]),
        "nginx kept one upstream connection alive for all three\n{context}"
    );

    assert!(status.success(), "hostscope chains failed\n{context}");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "a secret leaked\n{context}"
    );

    // The PostgreSQL backend (forked by the postmaster for each connection)
    // served each query, in request order.
    let backends: Vec<&str> = service_log
        .lines()
        .filter(|l| l.starts_with("orders "))
        .map(|l| {
            l.split_once(" backend=")
                .and_then(|(_, b)| b.split(' ').next())
                .expect("a backend pid")
        })
        .collect();
    let Stack {
        worker,
        nginx_port,
        app_port,
        orders_port,
        pg_port,
        redis_port,
        ..
    } = stack;
    let redis_pid = stack.redis.pid();
    let root = format!("GET /checkout  nginx[{worker}] :{nginx_port}  502");
    let chains: Vec<Vec<&str>> = stdout
        .split("\n\n")
        .map(|c| c.lines().collect::<Vec<_>>())
        .filter(|c| c.first().is_some_and(|l| head(l) == root))
        .collect();
    assert_eq!(chains.len(), 3, "one chain per request\n{context}");
    for (chain, backend) in chains.iter().zip(&backends) {
        let shown = chain.join("\n");
        let heads: Vec<&str> = chain.iter().map(|l| head(l)).collect();
        // nginx's own request carries no id (nginx makes it up for the
        // upstream request), so its link to the app can only be inferred:
        // one request at a time on its worker thread. The app's threads
        // serve one request each at a time: its calls are inferred too,
        // but for orders, which gets nginx's id.
        let expected = [
            root.clone(),
            format!(
                "└┄ GET /checkout  python3[{}] :{app_port}  503",
                stack.app.pid()
            ),
            format!("   └┄ GET session:42  redis-server[{redis_pid}] :{redis_port}  (nil)"),
            format!("   └┄ PING  redis-server[{redis_pid}] :{redis_port}  OK"),
            format!(
                "   └─ GET /orders  python3[{}] :{orders_port}  200",
                stack.orders.pid()
            ),
            format!(
                "      └┄ QUERY SELECT count(*) FROM pg_class WHERE relname = ?  \
                 postgres[{backend}] :{pg_port}  SELECT 1"
            ),
        ];
        assert_eq!(heads, expected, "the chain, hop by hop\n{shown}\n{context}");
        let blamed: Vec<usize> = (0..chain.len())
            .filter(|&i| chain[i].ends_with("  <- culprit"))
            .collect();
        assert_eq!(blamed, [2], "the expired key is the culprit\n{shown}");
    }
}
