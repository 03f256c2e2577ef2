//! The Chains screen's state: socket calls from the probe go through the
//! same tracker and linker as `hostscope chains`; the most recent spans
//! are kept, and the chains are rebuilt from them at each refresh.

use std::collections::VecDeque;

use hostscope_core::chains::Secrets;
use hostscope_core::chains::link::{self, Hop};
use hostscope_core::chains::track::{Span, Tracker};
use hostscope_core::model::{SocketCall, SocketClose, SocketOpen};
use hostscope_core::procfs::Origin;

/// How the chains are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first.
    Recent,
    /// Slowest first.
    Latency,
    /// Failing first, then slowest.
    Status,
}

/// Where the keys go on the Chains screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Tree,
}

#[derive(Debug)]
pub struct Chains {
    tracker: Tracker,
    spans: VecDeque<Span>,
    /// The chains built at the last refresh, in `order`.
    pub roots: Vec<Hop>,
    pub order: Order,
    pub pane: Pane,
    /// Index into `roots`.
    pub selected: usize,
    /// Index into the selected chain's hops, depth first.
    pub hop: usize,
    /// Socket calls seen.
    pub calls: u64,
}

impl Default for Chains {
    fn default() -> Self {
        Chains::new(Secrets::Masked)
    }
}

impl Chains {
    /// An empty screen whose tracker masks secrets, or not.
    pub fn new(secrets: Secrets) -> Self {
        Chains {
            tracker: Tracker::new(secrets),
            spans: VecDeque::new(),
            roots: Vec::new(),
            order: Order::Recent,
            pane: Pane::List,
            selected: 0,
            hop: 0,
            calls: 0,
        }
    }
}

impl Chains {
    /// Spans kept to build chains from: the most recent.
    pub const SPANS: usize = 2000;

    pub fn observe(&mut self, call: &SocketCall) {
        self.calls += 1;
        for span in self.tracker.observe(call) {
            self.keep(span);
        }
    }

    /// Takes the end of a TCP connection.
    pub fn closed(&mut self, close: &SocketClose) {
        for span in self.tracker.closed(close) {
            self.keep(span);
        }
    }

    fn keep(&mut self, span: Span) {
        if self.spans.len() == Self::SPANS {
            self.spans.pop_front();
        }
        self.spans.push_back(span);
    }

    /// Takes the establishment of a TCP connection.
    pub fn opened(&mut self, open: &SocketOpen) {
        self.tracker.opened(open);
    }

    /// Rebuilds the chains from the spans kept.
    /// Rebuilds the chains from the spans kept, each span's process placed
    /// by `origin_of` (the process list's container or unit) where the span
    /// does not say.
    pub fn rebuild(&mut self, origin_of: impl Fn(u32) -> Option<Origin>) {
        let spans = self
            .spans
            .iter()
            .cloned()
            .map(|mut span| {
                if span.origin.is_none() {
                    span.origin = origin_of(span.pid).map(Into::into);
                }
                span
            })
            .collect();
        self.roots = link::chains(spans);
        self.sort();
    }

    pub fn sort(&mut self) {
        match self.order {
            Order::Recent => self
                .roots
                .sort_by_key(|h| std::cmp::Reverse(h.main().start_ns)),
            // Connection-level hops last: how long a connection lived is no
            // latency.
            Order::Latency => self
                .roots
                .sort_by_key(|h| std::cmp::Reverse(h.latency_ns())),
            Order::Status => self.roots.sort_by_key(|h| {
                (
                    std::cmp::Reverse(h.chain_failed()),
                    std::cmp::Reverse(h.latency_ns()),
                )
            }),
        }
        self.selected = self.selected.min(self.roots.len().saturating_sub(1));
    }

    /// The selected chain's hops, depth first, with their depth.
    pub fn hops(&self) -> Vec<(usize, &Hop)> {
        fn walk<'a>(hop: &'a Hop, depth: usize, out: &mut Vec<(usize, &'a Hop)>) {
            out.push((depth, hop));
            for child in &hop.children {
                walk(child, depth + 1, out);
            }
        }
        let mut out = Vec::new();
        if let Some(root) = self.roots.get(self.selected) {
            walk(root, 0, &mut out);
        }
        out
    }
}
