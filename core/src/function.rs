//! The printer functions that send e-mail and are subject to OAuth (R-FN).
//!
//! The manual lists six user functions and six administrator functions. The
//! class decides whose token a job uses: administrator functions always send
//! with the administrator's token, user functions follow the sender-address
//! mode (see [`crate::policy`]).

use core::fmt;

/// Who a function works for, which decides whose token signs its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FunctionClass {
    /// Started by a person at the panel or from an application.
    User,
    /// Sent by the machine itself (notifications, reports, forwarding).
    Administrator,
}

/// A function that sends e-mail (R-FN). The discriminants are stable (they
/// cross the C API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum Function {
    /// Scan to E-mail (Numériser vers e-mail).
    ScanToEmail = 1,
    /// Scan to Me (Numériser vers moi).
    ScanToMe = 2,
    /// Scan to URL (Numérisation vers URL).
    ScanToUrl = 3,
    /// Internet Fax transmission (Transmission fax Internet).
    InternetFax = 4,
    /// E-mail from a User Box (Envoi d'e-mail à partir d'une boîte utilisateur).
    EmailFromUserBox = 5,
    /// E-mail from an OpenAPI/IWS application.
    EmailFromOpenApi = 6,
    /// E-mail notification (Notification par e-mail).
    EmailNotification = 7,
    /// Total counter notification (Notification du compteur total).
    TotalCounterNotification = 8,
    /// Forward transmission (Transmission avant).
    ForwardTransmission = 9,
    /// TSI routing (Routage TSI).
    TsiRouting = 10,
    /// Status notification (Configuration notification statut).
    StatusNotification = 11,
    /// Transmission result report (Impression du rapport de résultats de transmission).
    TransmissionResultReport = 12,
}

impl Function {
    /// All twelve functions, user functions first, in the manual's order.
    pub const ALL: [Function; 12] = [
        Function::ScanToEmail,
        Function::ScanToMe,
        Function::ScanToUrl,
        Function::InternetFax,
        Function::EmailFromUserBox,
        Function::EmailFromOpenApi,
        Function::EmailNotification,
        Function::TotalCounterNotification,
        Function::ForwardTransmission,
        Function::TsiRouting,
        Function::StatusNotification,
        Function::TransmissionResultReport,
    ];

    /// The function's class (R-FN).
    #[must_use]
    pub const fn class(self) -> FunctionClass {
        match self {
            Function::ScanToEmail
            | Function::ScanToMe
            | Function::ScanToUrl
            | Function::InternetFax
            | Function::EmailFromUserBox
            | Function::EmailFromOpenApi => FunctionClass::User,
            Function::EmailNotification
            | Function::TotalCounterNotification
            | Function::ForwardTransmission
            | Function::TsiRouting
            | Function::StatusNotification
            | Function::TransmissionResultReport => FunctionClass::Administrator,
        }
    }

    /// The function with stable number `n` (from C), if any.
    #[must_use]
    pub const fn from_number(n: u8) -> Option<Function> {
        match n {
            1 => Some(Function::ScanToEmail),
            2 => Some(Function::ScanToMe),
            3 => Some(Function::ScanToUrl),
            4 => Some(Function::InternetFax),
            5 => Some(Function::EmailFromUserBox),
            6 => Some(Function::EmailFromOpenApi),
            7 => Some(Function::EmailNotification),
            8 => Some(Function::TotalCounterNotification),
            9 => Some(Function::ForwardTransmission),
            10 => Some(Function::TsiRouting),
            11 => Some(Function::StatusNotification),
            12 => Some(Function::TransmissionResultReport),
            _ => None,
        }
    }

    /// The function's English name, as on the panel.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Function::ScanToEmail => "Scan to E-mail",
            Function::ScanToMe => "Scan to Me",
            Function::ScanToUrl => "Scan to URL",
            Function::InternetFax => "Internet Fax transmission",
            Function::EmailFromUserBox => "E-mail from a User Box",
            Function::EmailFromOpenApi => "E-mail from an OpenAPI/IWS application",
            Function::EmailNotification => "E-mail notification",
            Function::TotalCounterNotification => "Total counter notification",
            Function::ForwardTransmission => "Forward transmission",
            Function::TsiRouting => "TSI routing",
            Function::StatusNotification => "Status notification",
            Function::TransmissionResultReport => "Transmission result report",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_user_and_six_administrator_functions() {
        // R-FN: the manual's two lists.
        let users = Function::ALL
            .iter()
            .filter(|f| f.class() == FunctionClass::User)
            .count();
        assert_eq!(users, 6);
        assert_eq!(Function::ScanToMe.class(), FunctionClass::User);
        assert_eq!(Function::EmailFromOpenApi.class(), FunctionClass::User);
        assert_eq!(Function::TsiRouting.class(), FunctionClass::Administrator);
        assert_eq!(
            Function::TransmissionResultReport.class(),
            FunctionClass::Administrator
        );
    }

    #[test]
    fn numbers_round_trip_and_unknown_numbers_are_refused() {
        for f in Function::ALL {
            assert_eq!(Function::from_number(f as u8), Some(f));
        }
        assert_eq!(Function::from_number(0), None);
        assert_eq!(Function::from_number(13), None);
    }
}
