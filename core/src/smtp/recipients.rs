//! The recipients of one message, their addresses packed one after the
//! other (R-MEM).
//!
//! Each address may be 254 octets long, but a printer's recipients are a
//! few dozen octets each: sixteen [`Address`] places would keep 4 KB for
//! what is typically a few hundred octets. The addresses are kept instead
//! as one text with where each ends, at most [`MAX_RECIPIENTS`] of them
//! and [`MAX_RECIPIENTS_LEN`] octets together (80 on average, and any one
//! address of the longest length fits).

use core::fmt;

use heapless::{String, Vec};

use super::event::SubmitError;
use crate::address::Address;
use crate::limits::{MAX_RECIPIENTS, MAX_RECIPIENTS_LEN};

// Offsets are kept in 16 bits.
const _: () = assert!(MAX_RECIPIENTS_LEN <= u16::MAX as usize);

/// The `RCPT TO` addresses of one message, in order, each checked as
/// [`Address::parse`] checks it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Recipients {
    /// The addresses, one after the other.
    text: String<MAX_RECIPIENTS_LEN>,
    /// Where each address ends in `text`.
    ends: Vec<u16, MAX_RECIPIENTS>,
}

impl Recipients {
    /// No recipient.
    #[must_use]
    pub const fn new() -> Self {
        Recipients {
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// How many recipients.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Recipient `i` (from 0), in the order added.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = usize::from(*self.ends.get(i)?);
        let start = match i.checked_sub(1) {
            Some(before) => usize::from(*self.ends.get(before)?),
            None => 0,
        };
        self.text.get(start..end)
    }

    /// The first recipient.
    #[must_use]
    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    /// The recipients in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Adds `address` at the end, checked as [`Address::parse`] checks it.
    /// On error nothing changes: [`SubmitError::InvalidAddress`],
    /// [`SubmitError::TooManyRecipients`] when [`MAX_RECIPIENTS`] are
    /// there, [`SubmitError::RecipientsTooLong`] when the addresses would
    /// be longer than [`MAX_RECIPIENTS_LEN`] together.
    pub fn push(&mut self, address: &str) -> Result<(), SubmitError> {
        Address::check(address).map_err(|_| SubmitError::InvalidAddress)?;
        if self.ends.is_full() {
            return Err(SubmitError::TooManyRecipients);
        }
        let before = self.text.len();
        self.text
            .push_str(address)
            .map_err(|_| SubmitError::RecipientsTooLong)?;
        // Fits: the text is at most MAX_RECIPIENTS_LEN octets (asserted
        // above to fit 16 bits), and a place is free (checked above).
        match u16::try_from(self.text.len()) {
            Ok(end) if self.ends.push(end).is_ok() => Ok(()),
            _ => {
                self.text.truncate(before);
                Err(SubmitError::RecipientsTooLong)
            }
        }
    }

    /// No recipient any more.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Whether an address has a non-ASCII octet, so that SMTP needs
    /// SMTPUTF8 (RFC 6531) to carry it.
    #[must_use]
    pub fn need_smtputf8(&self) -> bool {
        !self.text.is_ascii()
    }
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Angled)).finish()
    }
}

/// An address as [`Address`]'s Debug shows it.
struct Angled<'a>(&'a str);

impl fmt::Debug for Angled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

#[cfg(test)]
#[path = "recipients_tests.rs"]
mod tests;
