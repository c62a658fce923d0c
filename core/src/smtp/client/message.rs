//! Where the session keeps the submitted message's envelope.
//!
//! The envelope (1.6 KB: the sender and up to sixteen recipients) is kept in
//! place whether or not a message is submitted: ending a transaction only
//! says so, and the envelope stays. The mailer stages a job's envelope here
//! once and submits it again on each session of the job (after a refresh,
//! a new connection), so it keeps no second copy of its own (R-MEM).

use crate::smtp::Envelope;

/// The session's envelope and whether it is a submitted message.
#[derive(Debug, Clone)]
pub(super) struct Message {
    envelope: Envelope,
    submitted: bool,
}

impl Message {
    pub(super) const NONE: Message = Message {
        envelope: Envelope::EMPTY,
        submitted: false,
    };

    /// The submitted message's envelope.
    pub(super) fn as_ref(&self) -> Option<&Envelope> {
        self.submitted.then_some(&self.envelope)
    }

    pub(super) fn is_some(&self) -> bool {
        self.submitted
    }

    pub(super) fn is_none(&self) -> bool {
        !self.submitted
    }

    /// No message submitted any more; the envelope stays where it is.
    pub(super) fn end(&mut self) {
        self.submitted = false;
    }

    /// A message submitted from an empty envelope, filled in place.
    pub(super) fn start_empty(&mut self) -> &mut Envelope {
        self.envelope = Envelope::EMPTY;
        self.submitted = true;
        &mut self.envelope
    }

    /// A message submitted with `envelope`.
    pub(super) fn start_with(&mut self, envelope: Envelope) {
        self.envelope = envelope;
        self.submitted = true;
    }

    /// The envelope kept, to stage it while no message is submitted.
    pub(super) fn staged_mut(&mut self) -> Option<&mut Envelope> {
        (!self.submitted).then_some(&mut self.envelope)
    }

    /// The envelope kept, submitted or not.
    pub(super) fn staged(&self) -> &Envelope {
        &self.envelope
    }

    /// Submit the envelope kept.
    pub(super) fn submit_staged(&mut self) {
        self.submitted = true;
    }
}
