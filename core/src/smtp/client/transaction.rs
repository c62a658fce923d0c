//! The message transaction (R-SMTP): the `impl` block of [`Session`] for
//! MAIL, RCPT and DATA or BDAT.
//!
//! A submitted envelope waits until the session is authenticated, then
//! goes as MAIL and RCPT (pipelined when the server offers PIPELINING), its
//! body dot-stuffed after `354`, or in `BDAT` chunks in the same flight
//! (RFC 3030); the replies decide the message's result, and a refused
//! transaction is reset with RSET so the session stays usable. Split from
//! `client.rs` so the session reads phase by phase (R-ENGINE layering,
//! issue 15).

use super::{refused, Cmd, Expect, Session, State, Txn};
use crate::limits::MIN_BODY_OUT_LEN;
use crate::smtp::{classify, BodyError, Envelope, Error, Event, Stage, SubmitError};
use crate::time::Instant;
use crate::wire::dot_stuff::{DotStuffer, TERMINATOR_MAX};
use crate::wire::reply::ReplyCode;
use crate::wire::smtp_cmd::{bdat_header_len, Command};
use crate::wire::BufferTooSmall;

/// Progress of one [`Session::write_body`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub struct BodyProgress {
    /// Input octets taken (the rest must be offered again).
    pub consumed: usize,
    /// Output octets to send.
    pub written: usize,
}

impl Session {
    // ---- mutators -----------------------------------------------------

    /// [`Session::send_message`] with the envelope copied from `envelope`
    /// straight into the session (R-MEM: no 1.6 KB envelope moved on the
    /// stack).
    pub fn send_message_from(
        &mut self,
        now: Instant,
        envelope: &Envelope,
    ) -> Result<(), SubmitError> {
        if envelope.to.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState);
        }
        let e = self.envelope.start_empty();
        e.from.clone_from(&envelope.from);
        // Each written where the session keeps it (R-MEM: no address
        // copied onto this frame and moved).
        for to in envelope.to.iter() {
            e.add_recipient_text(to)?;
        }
        e.size = envelope.size;
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// [`Session::send_message`] with the envelope filled by `fill` where
    /// the session keeps it, starting from no sender and no recipient
    /// (R-MEM: no 1.6 KB envelope built on the caller's stack and moved).
    /// The state is checked first; if `fill` fails or adds no recipient,
    /// the session holds no message and the error is returned.
    pub fn send_message_with<E: From<SubmitError>>(
        &mut self,
        now: Instant,
        fill: impl FnOnce(&mut Envelope) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState.into());
        }
        let e = self.envelope.start_empty();
        let filled = match fill(e) {
            Ok(()) if e.to.is_empty() => Err(SubmitError::NoRecipients.into()),
            other => other,
        };
        if filled.is_err() {
            self.envelope.end();
            return filled;
        }
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// The envelope the session keeps, to fill in place while no message
    /// is submitted (`None` while one is). It stays across
    /// [`Session::reset`] and the end of a transaction, so a caller that
    /// stages it once (the mailer, for a job) submits it again on each new
    /// session with [`Session::send_staged`] and keeps no copy (R-MEM).
    pub(crate) fn staged_envelope_mut(&mut self) -> Option<&mut Envelope> {
        self.envelope.staged_mut()
    }

    /// The session is dropped: no message is submitted any more (the
    /// envelope stays staged).
    pub(crate) fn forget_message(&mut self) {
        self.envelope.end();
    }

    /// Submit the staged envelope ([`Session::staged_envelope_mut`]), as
    /// [`Session::send_message`] does.
    pub(crate) fn send_staged(&mut self, now: Instant) -> Result<(), SubmitError> {
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState);
        }
        if self.envelope.staged().to.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        self.envelope.submit_staged();
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// Submit a message. Accepted any time before the session is ready (it
    /// starts once authenticated) or when idle; one message at a time.
    pub fn send_message(&mut self, now: Instant, envelope: Envelope) -> Result<(), SubmitError> {
        if envelope.to.is_empty() {
            return Err(SubmitError::NoRecipients);
        }
        if self.envelope.is_some() || matches!(self.state, State::Closed | State::Quit) {
            return Err(SubmitError::WrongState);
        }
        self.envelope.start_with(envelope);
        if self.state == State::Ready {
            self.start_transaction(now);
        }
        Ok(())
    }

    /// Encode body octets from `input` into `out` (at least
    /// [`MIN_BODY_OUT_LEN`] octets); send `out[..written]` as is, then call
    /// again with `input[consumed..]` until all is taken.
    ///
    /// With `DATA` the octets are normalised and dot-stuffed. With `BDAT`
    /// each call writes one chunk, `BDAT <n>` and its octets; a call may
    /// first write the transaction's commands still waiting to go (it then
    /// takes no input), so that they lead the same flight.
    pub fn write_body(&mut self, input: &[u8], out: &mut [u8]) -> Result<BodyProgress, BodyError> {
        self.write_body_as(input, out, false)
    }

    /// [`Session::write_body`] for a body the caller declares canonical:
    /// CRLF line ends only and no line that starts with `.`, as the core
    /// composer ([`crate::mime::Composer`]) produces. Same contract, and
    /// for such a body the same octets on the wire, at a fraction of the
    /// cost: with `BDAT` the octets are copied after the chunk header
    /// unscanned; with `DATA` only the dots are looked at, and one that
    /// starts a line is stuffed all the same, so a body wrongly declared
    /// canonical can never end the message early
    /// ([`DotStuffer::encode_canonical`]). Calls of both kinds may be mixed
    /// within one body.
    pub fn write_body_canonical(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<BodyProgress, BodyError> {
        self.write_body_as(input, out, true)
    }

    fn write_body_as(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        canonical: bool,
    ) -> Result<BodyProgress, BodyError> {
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if out.len() < MIN_BODY_OUT_LEN {
            return Err(BodyError::BufferTooSmall {
                needed: MIN_BODY_OUT_LEN,
            });
        }
        if !self.txn.bdat {
            let (consumed, written) = if canonical {
                self.stuffer.encode_canonical(input, out)
            } else {
                self.stuffer.encode(input, out)
            };
            return Ok(BodyProgress { consumed, written });
        }
        // No command carrying the token is ever queued after AUTH.
        let (pending, _) = self.drain_outbox(self.last_progress, out, &[]);
        if pending > 0 || input.is_empty() {
            return Ok(BodyProgress {
                consumed: 0,
                written: pending,
            });
        }
        // Encode after room for the longest header, then move the octets
        // next to the real header: the chunk's length is known only after
        // normalising. A canonical body keeps its length: its octets go
        // straight after the real header.
        let room = out.len();
        let header_max = bdat_header_len(room as u64);
        let (start, (consumed, n)) = if canonical {
            let take = input.len().min(room.saturating_sub(header_max));
            let at = bdat_header_len(take as u64);
            let area = out.get_mut(at..).unwrap_or(&mut []);
            let input = input.get(..take).unwrap_or(input);
            (at, self.stuffer.encode_canonical(input, area))
        } else {
            let area = out.get_mut(header_max..).unwrap_or(&mut []);
            (header_max, self.stuffer.encode(input, area))
        };
        let header_len = bdat_header_len(n as u64);
        if start != header_len {
            out.copy_within(start..start + n, header_len);
        }
        Command::Bdat(n as u64).write(0, out);
        self.txn.bdat_due += 1;
        self.in_flight += 1;
        Ok(BodyProgress {
            consumed,
            written: header_len + n,
        })
    }

    /// The whole body has been written: queue the end of data (`.` after
    /// `DATA`, `BDAT <n> LAST` when chunking), sent by `poll_transmit`.
    pub fn finish_body(&mut self, _now: Instant) -> Result<(), BodyError> {
        if self.state != State::Body {
            return Err(BodyError::WrongState);
        }
        if self.txn.bdat {
            let mut tail = [0u8; 2];
            let len = self.stuffer.end_line(&mut tail) as u8;
            self.queue(Cmd::BdatLast { tail, len });
            self.txn.bdat_due += 1;
            self.state = State::DataEnd;
            return Ok(());
        }
        let mut bytes = [0u8; TERMINATOR_MAX];
        let len = self
            .stuffer
            .finish(&mut bytes)
            .map_err(|BufferTooSmall { needed }| BodyError::BufferTooSmall { needed })?;
        self.queue(Cmd::Terminator {
            bytes,
            len: len as u8,
        });
        self.state = State::DataEnd;
        Ok(())
    }

    // ---- internals ----------------------------------------------------

    /// A reply to MAIL, RCPT, DATA, the end of data or RSET.
    pub(super) fn on_transaction_reply(&mut self, now: Instant, expect: Expect, code: ReplyCode) {
        match expect {
            Expect::Mail => {
                if code.is_positive() {
                    self.txn.mail_ok = true;
                    if !self.caps.pipelining {
                        self.queue(Cmd::Rcpt(0));
                    }
                } else {
                    self.txn.failure = Some(refused(Stage::Mail, code));
                    if !self.caps.pipelining {
                        self.abort_transaction();
                    }
                }
            }
            Expect::Rcpt(i) => {
                if code.is_positive() {
                    self.txn.accepted += 1;
                } else {
                    self.txn.refused += 1;
                    let diag = classify(Stage::Rcpt, code);
                    self.event(Event::RecipientRefused {
                        index: usize::from(i),
                        code,
                        diag,
                    });
                }
                let count = self.envelope.as_ref().map_or(0, |e| e.to.len());
                if self.txn.bdat && usize::from(i) + 1 == count {
                    self.bdat_envelope_answered(now);
                } else if !self.caps.pipelining {
                    if usize::from(i) + 1 < count {
                        self.queue(Cmd::Rcpt(i + 1));
                    } else if self.txn.accepted > 0 {
                        self.queue(Cmd::Data);
                    } else {
                        self.txn.failure = Some(Error::AllRecipientsRefused);
                        self.abort_transaction();
                    }
                }
            }
            Expect::Data => {
                let usable = self.txn.mail_ok && self.txn.accepted > 0;
                if code.code == 354 && usable {
                    self.state = State::Body;
                    self.stuffer = DotStuffer::new();
                    self.event(Event::ReadyForBody);
                } else if code.code == 354 {
                    // Pipelined DATA accepted although nothing can be
                    // delivered: end the empty message at once.
                    if self.txn.failure.is_none() {
                        self.txn.failure = Some(Error::AllRecipientsRefused);
                    }
                    let mut bytes = [0u8; TERMINATOR_MAX];
                    if let Some(t) = bytes.get_mut(..3) {
                        t.copy_from_slice(b".\r\n");
                    }
                    self.queue(Cmd::Terminator { bytes, len: 3 });
                    self.state = State::DataEnd;
                } else {
                    if self.txn.failure.is_none() {
                        self.txn.failure = Some(if self.txn.accepted == 0 {
                            Error::AllRecipientsRefused
                        } else {
                            refused(Stage::Data, code)
                        });
                    }
                    self.abort_transaction();
                }
            }
            Expect::DataEnd => {
                self.envelope.end();
                let event = match self.txn.failure {
                    Some(error) => Event::MessageFailed { error },
                    None if code.is_positive() => Event::MessageSent {
                        code,
                        accepted: self.txn.accepted,
                        refused: self.txn.refused,
                    },
                    None => Event::MessageFailed {
                        error: refused(Stage::DataEnd, code),
                    },
                };
                self.event(event);
                self.become_ready(now);
            }
            Expect::Rset => {
                if code.is_positive() {
                    self.become_ready(now);
                } else {
                    self.fail(refused(Stage::Rset, code));
                }
            }
            // Answered by the session itself (`on_reply`).
            Expect::Greeting | Expect::Ehlo | Expect::StartTls | Expect::Auth | Expect::Quit => {}
        }
    }

    /// `MAIL FROM` for the message in progress, with its parameters.
    pub(super) fn mail_command(&self) -> Command<'_> {
        let Some(env) = self.envelope.as_ref() else {
            return Command::Mail {
                from: "",
                size: None,
                eight_bit_mime: false,
                smtputf8: false,
            };
        };
        // SMTPUTF8 only when an address needs it (the transaction was
        // refused before MAIL if the server does not offer it). The header
        // may then carry UTF-8 (RFC 6532): 8-bit content, declared as such
        // (RFC 6152) to a server that offers 8BITMIME, as RFC 6531 asks of
        // SMTPUTF8 servers.
        let smtputf8 = needs_smtputf8(env) && self.caps.smtputf8;
        Command::Mail {
            from: env.from.as_str(),
            size: env.size.filter(|_| self.caps.size.is_some()),
            eight_bit_mime: smtputf8 && self.caps.eight_bit_mime,
            smtputf8,
        }
    }

    pub(super) fn become_ready(&mut self, now: Instant) {
        self.state = State::Ready;
        if self.envelope.is_some() {
            self.start_transaction(now);
        } else {
            self.event(Event::Ready);
        }
    }

    fn start_transaction(&mut self, _now: Instant) {
        let Some(env) = self.envelope.as_ref() else {
            return;
        };
        self.txn = Txn::default();
        // RFC 6531: a non-ASCII address goes only to a server that offers
        // SMTPUTF8; otherwise nothing of the message is sent.
        if needs_smtputf8(env) && !self.caps.smtputf8 {
            self.envelope.end();
            self.event(Event::MessageFailed {
                error: Error::Smtputf8NotOffered,
            });
            self.event(Event::Ready);
            return;
        }
        if let (Some(size), Some(limit)) = (env.size, self.caps.size) {
            if self.caps.exceeds_size(size) {
                self.envelope.end();
                self.event(Event::MessageFailed {
                    error: Error::MessageTooBig { size, limit },
                });
                self.event(Event::Ready);
                return;
            }
        }
        let count = env.to.len();
        // RFC 3030 §4.2: BDAT chunks are pipelined only with PIPELINING.
        let bdat = self.settings.chunking && self.caps.chunking && self.caps.pipelining;
        self.txn.bdat = bdat;
        self.state = State::Transaction;
        self.queue(Cmd::Mail);
        if self.caps.pipelining {
            // RFC 2920: MAIL, every RCPT and DATA (or the BDAT chunks) in
            // one flight.
            for i in 0..count {
                self.queue(Cmd::Rcpt(i as u8));
            }
            if !bdat {
                self.queue(Cmd::Data);
            }
        }
        if bdat {
            // No 354 to wait for: the body follows the envelope at once.
            self.state = State::Body;
            self.stuffer = DotStuffer::normalise_only();
            self.event(Event::ReadyForBody);
        }
    }

    /// Every MAIL/RCPT reply of a chunked transaction is in.
    fn bdat_envelope_answered(&mut self, now: Instant) {
        if self.txn.mail_ok && self.txn.accepted > 0 {
            return;
        }
        if self.txn.failure.is_none() {
            self.txn.failure = Some(Error::AllRecipientsRefused);
        }
        self.bdat_stop(now);
    }

    pub(super) fn on_bdat_reply(&mut self, now: Instant, code: ReplyCode) {
        self.txn.bdat_due = self.txn.bdat_due.saturating_sub(1);
        if !code.is_positive() && self.txn.failure.is_none() {
            self.txn.failure = Some(refused(Stage::DataEnd, code));
        }
        if self.txn.failure.is_some() {
            // RFC 3030 §3: after a failed chunk, send no more.
            self.bdat_stop(now);
        } else if self.txn.bdat_due == 0 && self.state == State::DataEnd {
            self.envelope.end();
            let (accepted, refused) = (self.txn.accepted, self.txn.refused);
            self.event(Event::MessageSent {
                code,
                accepted,
                refused,
            });
            self.become_ready(now);
        }
    }

    /// A chunked transaction failed: stop the body, and once every chunk
    /// sent has its reply, report and RSET.
    fn bdat_stop(&mut self, _now: Instant) {
        if self.state == State::Body {
            self.state = State::BdatDrain;
        }
        if self.txn.bdat_due == 0 && matches!(self.state, State::BdatDrain | State::DataEnd) {
            self.abort_transaction();
        }
    }

    fn abort_transaction(&mut self) {
        self.envelope.end();
        let error = self.txn.failure.unwrap_or(Error::AllRecipientsRefused);
        self.event(Event::MessageFailed { error });
        self.state = State::Rset;
        self.queue(Cmd::Rset);
    }
}

/// Whether an address of `env` needs SMTPUTF8 (RFC 6531).
fn needs_smtputf8(env: &Envelope) -> bool {
    env.from.needs_smtputf8() || env.to.need_smtputf8()
}
