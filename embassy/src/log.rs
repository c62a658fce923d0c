//! `defmt` logging when the feature is on, nothing otherwise. Callers log
//! plans, diagnostic numbers, ports and octet counts: never the bytes of a
//! transmit, a token or a host's reply (R-LOG).

macro_rules! log_at {
    ($level:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::$level!($fmt $(, $arg)*);
        #[cfg(not(feature = "defmt"))]
        {
            $(let _ = &$arg;)*
        }
    }};
}

macro_rules! log_info {
    ($($t:tt)*) => { $crate::log::log_at!(info, $($t)*) };
}

macro_rules! log_debug {
    ($($t:tt)*) => { $crate::log::log_at!(debug, $($t)*) };
}

macro_rules! log_warn {
    ($($t:tt)*) => { $crate::log::log_at!(warn, $($t)*) };
}

pub(crate) use {log_at, log_debug, log_info, log_warn};
