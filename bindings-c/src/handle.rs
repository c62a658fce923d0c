//! Objects in storage the C caller allocates.
//!
//! Each C object type is `#[repr(C)] struct { _opaque: [u64; N] }`: the
//! caller declares it (static, on the stack, inside its own struct) and the
//! library places a [`Held`] value at its start. Compile-time assertions
//! (in [`opaque!`]) check on every target that the value fits and that the
//! storage's 8-byte alignment is enough.
//!
//! A magic word before the value tells a created object from storage that
//! was never created or was destroyed: such a handle is
//! `MFP_OAUTH_STATUS_WRONG_STATE`, not undefined behaviour (unless the
//! garbage happens to equal the 64-bit magic, which a zeroed or destroyed
//! storage never does).

use crate::MfpOauthStatus;

/// What lives at the start of the caller's storage.
#[repr(C)]
pub(crate) struct Held<T> {
    magic: u64,
    value: T,
}

/// A C object type and the Rust value it holds.
///
/// # Safety
/// Implementors must be `#[repr(C)]` structs of `u64` words large enough and
/// aligned enough for `Held<Self::Value>` (checked by [`opaque!`]).
pub(crate) unsafe trait Opaque: Sized {
    /// The value the storage holds.
    type Value;
    /// Marks a live value of this type (distinct per type).
    const MAGIC: u64;
}

/// Checks at compile time that the C storage type `$c` (`$words` 64-bit
/// words) holds a `$held` from its first octet, aligned. With `tight` (the
/// storage the firmware lends for its day, which the size report adds up,
/// R-MEM), also that it has no word more than the value needs, on the
/// targets measured (the host, the Cortex-M4F); the others keep headroom
/// to grow without a change of the header.
macro_rules! fits {
    ($c:ident, $words:ident, $held:ty, tight) => {
        $crate::handle::fits!($c, $words, $held);
        #[cfg(any(target_arch = "x86_64", target_arch = "arm"))]
        const _: () = assert!(
            size_of::<$c>() < size_of::<$held>() + 8,
            concat!(stringify!($words), " has a word more than the value needs")
        );
    };
    ($c:ident, $words:ident, $held:ty) => {
        const _: () = {
            assert!(
                size_of::<$held>() <= size_of::<$c>(),
                concat!(stringify!($words), " is too small for the value")
            );
            assert!(
                align_of::<$held>() <= align_of::<$c>(),
                concat!(stringify!($c), " is not aligned enough for the value")
            );
            assert!(size_of::<$c>() == $words * 8);
        };
    };
}
pub(crate) use fits;

/// Declares a C storage type `$c` of `$words` 64-bit words holding a
/// `$value` behind its magic ([`Held`]), with the compile-time checks of
/// [`fits!`] (`tight` as there).
macro_rules! opaque {
    ($c:ident, $words:ident, $value:ty, $magic:expr $(, $tight:ident)?) => {
        $crate::handle::fits!($c, $words, $crate::handle::Held<$value> $(, $tight)?);
        // SAFETY: `$c` is a `#[repr(C)]` array of u64 words; `fits!` above
        // checks its size and alignment against `Held<$value>`.
        unsafe impl $crate::handle::Opaque for $c {
            type Value = $value;
            const MAGIC: u64 = $magic;
        }
    };
}
pub(crate) use opaque;

/// Values for which all-zero bytes are a valid value.
///
/// # Safety
/// Implement only through [`zeroable!`], which proves it at compile time.
pub(crate) unsafe trait Zeroable {}

/// Declares `$t` [`Zeroable`]. The constant below is evaluated by the
/// compiler, which checks the validity of every constant's value (each
/// enum tag and niche, each `bool`): the build fails if all-zero bytes are
/// not a valid `$t` (for example an enum whose tags all differ from zero).
macro_rules! zeroable {
    ($t:ty) => {
        const _: () = {
            // SAFETY: evaluated at compile time, where an invalid value is
            // a build error, not undefined behaviour (see above).
            const ZERO: $t = unsafe { core::mem::zeroed() };
            core::mem::forget(ZERO);
            // SAFETY: `ZERO` above compiled, so all-zero is a valid `$t`.
            unsafe impl $crate::handle::Zeroable for $t {}
        };
    };
}
pub(crate) use zeroable;

/// Builds a value in `storage` in place: the storage is zeroed (a valid
/// value, [`Zeroable`]), then `init` sets it up through `&mut` (the
/// core's `reset`-style methods, field by field). Nothing the size of the
/// value is built on the stack or copied from flash: the value is never
/// moved (R-MEM). If `init` fails, the value is dropped (its secrets
/// wiped) and the storage zeroed again: it holds no live object.
///
/// # Safety
/// `storage` is NULL or valid for writes of `S`, not aliased, and holds no
/// live value (it is overwritten, not dropped).
pub(crate) unsafe fn create_zeroed<S: Opaque>(
    storage: *mut S,
    init: impl FnOnce(&mut S::Value) -> MfpOauthStatus,
) -> MfpOauthStatus
where
    S::Value: Zeroable,
{
    if storage.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let held = storage.cast::<Held<S::Value>>();
    // SAFETY: `storage` is valid for writes of `S` (contract); zero bytes
    // are a valid `Held<S::Value>` (a u64 and a `Zeroable` value), and the
    // zero magic is not a live object's.
    unsafe { core::ptr::write_bytes(storage.cast::<u8>(), 0, size_of::<S>()) };
    // SAFETY: the value's place is valid, initialised (all-zero is a valid
    // value) and not aliased (contract).
    let value = unsafe { &mut *core::ptr::addr_of_mut!((*held).value) };
    let status = init(value);
    if status == MfpOauthStatus::Ok {
        // SAFETY: valid for writes; the magic goes last, so that the object
        // is live only once the value is set up.
        unsafe { core::ptr::addr_of_mut!((*held).magic).write(S::MAGIC) };
    } else {
        // SAFETY: the value is valid and dropped once: the storage is zeroed
        // right after (its magic stays zero).
        unsafe {
            core::ptr::drop_in_place(core::ptr::addr_of_mut!((*held).value));
            core::ptr::write_bytes(storage.cast::<u8>(), 0, size_of::<S>());
        }
    }
    status
}

/// Builds a value in `storage` with `init`, overwriting whatever was there
/// (a live object is not dropped: the caller must destroy it first).
///
/// `init` gets the address of the value's place and must initialise it
/// completely (with `write`, field by field if it likes), so that the
/// kilobytes of a session or a mailer are built where they live instead of
/// in stack temporaries that are then copied (stack is scarce on an MCU).
///
/// # Safety
/// `storage` is NULL or valid for writes of `S` and not aliased; `init`
/// initialises the whole value at the pointer it is given.
pub(crate) unsafe fn create<S: Opaque>(
    storage: *mut S,
    init: impl FnOnce(*mut S::Value),
) -> MfpOauthStatus {
    if storage.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let held = storage.cast::<Held<S::Value>>();
    // SAFETY: `storage` is valid for writes of `S`, which is at least as
    // large and as aligned as `Held<S::Value>` (checked at compile time);
    // `init` initialises the value (contract). The magic goes last, so that
    // the object is live only once the value is in place.
    unsafe {
        init(core::ptr::addr_of_mut!((*held).value));
        core::ptr::addr_of_mut!((*held).magic).write(S::MAGIC);
    }
    MfpOauthStatus::Ok
}

/// The live value in `storage`.
///
/// # Safety
/// `storage` is NULL or valid for reads and writes of `S`, not aliased for
/// `'a`, and either created by [`create`] / [`create_zeroed`] or holding any initialised bytes
/// (a C object that was never created, or destroyed).
pub(crate) unsafe fn get<'a, S: Opaque>(
    storage: *mut S,
) -> Result<&'a mut S::Value, MfpOauthStatus> {
    if storage.is_null() {
        return Err(MfpOauthStatus::NullParameter);
    }
    let held = storage.cast::<Held<S::Value>>();
    // SAFETY: `storage` is valid for reads of at least 8 aligned bytes; any
    // bit pattern is a valid u64.
    let magic = unsafe { core::ptr::addr_of!((*held).magic).read() };
    if magic != S::MAGIC {
        return Err(MfpOauthStatus::WrongState);
    }
    // SAFETY: the magic says `create` placed a live value here and no
    // `destroy` happened since; the caller guarantees exclusive access.
    Ok(unsafe { &mut (*held).value })
}

/// The live value in `storage`, for a call that only reads it (a `const`
/// handle in C).
///
/// # Safety
/// `storage` is NULL or valid for reads of `S`, not written for `'a`, and
/// either created by [`create`] / [`create_zeroed`] or holding any initialised bytes.
pub(crate) unsafe fn get_ref<'a, S: Opaque>(
    storage: *const S,
) -> Result<&'a S::Value, MfpOauthStatus> {
    if storage.is_null() {
        return Err(MfpOauthStatus::NullParameter);
    }
    let held = storage.cast::<Held<S::Value>>();
    // SAFETY: `storage` is valid for reads of at least 8 aligned bytes; any
    // bit pattern is a valid u64.
    let magic = unsafe { core::ptr::addr_of!((*held).magic).read() };
    if magic != S::MAGIC {
        return Err(MfpOauthStatus::WrongState);
    }
    // SAFETY: the magic says `create` placed a live value here and no
    // `destroy` happened since; the caller guarantees nothing writes it.
    Ok(unsafe { &(*held).value })
}

/// The place of the live value in `storage`, for a call that borrows
/// parts of it separately (one part read while another is written): no
/// reference to the whole value is made, so pointers the caller holds into
/// the part only read stay valid.
///
/// # Safety
/// As for [`get`]; the caller borrows disjoint parts of the value only.
pub(crate) unsafe fn get_place<S: Opaque>(
    storage: *mut S,
) -> Result<*mut S::Value, MfpOauthStatus> {
    // SAFETY: forwarded contract (a shared look at the magic only).
    unsafe { get_ref::<S>(storage) }?;
    let held = storage.cast::<Held<S::Value>>();
    // SAFETY: in bounds of the storage (checked at compile time).
    Ok(unsafe { core::ptr::addr_of_mut!((*held).value) })
}

/// Whether `storage` holds a live object (created and not destroyed).
///
/// # Safety
/// `storage` is valid for reads of `S` (not NULL).
pub(crate) unsafe fn is_live<S: Opaque>(storage: *const S) -> bool {
    // SAFETY: forwarded contract.
    unsafe { get_ref::<S>(storage) }.is_ok()
}

/// Drops the live value in `storage` (its secrets are wiped by their own
/// `Drop`), then zeroes the whole storage. Destroying storage that holds no
/// live value is a no-op returning OK, so cleanup paths can call it freely.
///
/// # Safety
/// As for [`get`].
pub(crate) unsafe fn destroy<S: Opaque>(storage: *mut S) -> MfpOauthStatus {
    // SAFETY: forwarded contract.
    match unsafe { get::<S>(storage) } {
        Ok(_) => {
            let held = storage.cast::<Held<S::Value>>();
            // SAFETY: the value is live (magic checked) and dropped once:
            // the storage is zeroed right after, which clears the magic.
            unsafe { core::ptr::drop_in_place(core::ptr::addr_of_mut!((*held).value)) };
            // SAFETY: `storage` is valid for writes of `S`.
            unsafe { core::ptr::write_bytes(storage.cast::<u8>(), 0, size_of::<S>()) };
            MfpOauthStatus::Ok
        }
        Err(MfpOauthStatus::WrongState) => MfpOauthStatus::Ok,
        Err(e) => e,
    }
}
