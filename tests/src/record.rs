//! The session's outputs, recorded as owned values: the requests it
//! sent ([`Sent`]), the grants it gave ([`Granted`]) and the events it
//! raised ([`Seen`]), the same for every provider.

use authsession_core::{
    Error, Event, ExpiryReason, Grant, Instant, Method, RequestId, Ticket, Transmit,
};

/// One header of a transmit or grant, its value in the two parts
/// [`HeaderValue::parts`](authsession_core::HeaderValue::parts) gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenHeader {
    /// The name.
    pub name: String,
    /// The fixed prefix of the value (`Bearer `), often empty.
    pub prefix: String,
    /// The rest of the value.
    pub value: String,
    /// Whether the session marked it as holding a secret.
    pub sensitive: bool,
}

impl SeenHeader {
    /// The whole value, as it goes on the wire.
    pub fn full_value(&self) -> String {
        format!("{}{}", self.prefix, self.value)
    }
}

fn seen_headers(headers: &authsession_core::Headers<'_>) -> Vec<SeenHeader> {
    headers
        .iter()
        .map(|header| {
            let [prefix, value] = header.value.parts();
            SeenHeader {
                name: header.name.to_owned(),
                prefix: prefix.to_owned(),
                value: value.to_owned(),
                sensitive: header.value.is_sensitive(),
            }
        })
        .collect()
}

fn header_value(headers: &[SeenHeader], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(SeenHeader::full_value)
}

/// A request the session handed out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its id.
    pub id: RequestId,
    /// Its method.
    pub method: Method,
    /// Its path.
    pub path: String,
    /// Its headers.
    pub headers: Vec<SeenHeader>,
    /// Its body.
    pub body: Vec<u8>,
    /// What `Debug` printed of the transmit.
    pub debug: String,
}

impl Sent {
    pub(crate) fn of(transmit: &Transmit<'_>) -> Self {
        Sent {
            id: transmit.id,
            method: transmit.method,
            path: transmit.path.to_owned(),
            headers: seen_headers(&transmit.headers),
            body: transmit.body.to_vec(),
            debug: format!("{transmit:?}"),
        }
    }

    /// The whole value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.headers, name)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether `text` appears anywhere on the wire in this request.
    pub fn carries(&self, text: &str) -> bool {
        self.path.contains(text)
            || self.headers.iter().any(|h| h.full_value().contains(text))
            || self.body_text().contains(text)
    }
}

/// A grant the session gave, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The headers to add to the call.
    pub headers: Vec<SeenHeader>,
    /// The receipt to hand back with the reply.
    pub ticket: Ticket,
    /// What `Debug` printed of the grant.
    pub debug: String,
}

impl Granted {
    pub(crate) fn of(grant: &Grant<'_>) -> Self {
        Granted {
            headers: seen_headers(&grant.headers),
            ticket: grant.ticket,
            debug: format!("{grant:?}"),
        }
    }

    /// The whole value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.headers, name)
    }
}

/// An event, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// [`Event::LoggedIn`]
    LoggedIn {
        /// The token's generation.
        generation: u64,
    },
    /// [`Event::Restored`]
    Restored {
        /// The token's generation.
        generation: u64,
    },
    /// [`Event::Expired`]
    Expired {
        /// Why.
        why: ExpiryReason,
    },
    /// [`Event::LoginRejected`]
    LoginRejected(Error),
    /// [`Event::RetryScheduled`]
    RetryScheduled {
        /// When.
        until: Instant,
        /// Failures in a row.
        attempt: u32,
    },
    /// [`Event::LoggedOut`]
    LoggedOut,
    /// [`Event::GaveUp`]
    GaveUp(Error),
    /// [`Event::StepUpRequired`]
    StepUpRequired,
    /// [`Event::CodeSent`]
    CodeSent,
    /// [`Event::AwaitingApproval`]
    AwaitingApproval,
    /// [`Event::SteppedUp`]
    SteppedUp,
    /// [`Event::StepUpFailed`]
    StepUpFailed(Error),
    /// An event this kit does not name yet, as `Debug` shows it.
    Other(String),
}

impl Seen {
    pub(crate) fn of(event: &Event<'_>) -> Self {
        match *event {
            Event::LoggedIn { generation } => Seen::LoggedIn { generation },
            Event::Restored { generation } => Seen::Restored { generation },
            Event::Expired { why } => Seen::Expired { why },
            Event::LoginRejected(error) => Seen::LoginRejected(error.clone()),
            Event::RetryScheduled { until, attempt } => Seen::RetryScheduled { until, attempt },
            Event::LoggedOut => Seen::LoggedOut,
            Event::GaveUp(error) => Seen::GaveUp(error.clone()),
            Event::StepUpRequired => Seen::StepUpRequired,
            Event::CodeSent => Seen::CodeSent,
            Event::AwaitingApproval => Seen::AwaitingApproval,
            Event::SteppedUp => Seen::SteppedUp,
            Event::StepUpFailed(error) => Seen::StepUpFailed(error.clone()),
            _ => Seen::Other(format!("{event:?}")),
        }
    }
}

/// The one event of `events`; fails if there are none or several.
pub fn the_only_event(events: Vec<Seen>) -> Seen {
    let [event] = <[Seen; 1]>::try_from(events).expect("exactly one event");
    event
}
