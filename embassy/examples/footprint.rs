//! A minimal firmware image with the board driver, for the footprint report
//! (`embassy/tools/size-report.sh`): cortex-m-rt start-up, an embassy-net
//! stack on a network device that never receives, a time driver, and one
//! scan-to-email job through `Board::run` and a sign-in through
//! `Board::drive_oauth`, so that everything a board links for a job (the
//! core's Mailer and clients, embassy-net's TCP, embedded-tls with its
//! P-256 verifier, AES-GCM and SHA-256; with the feature `tls-rustls`,
//! rustls with the driver's RustCrypto provider and a 64 KiB heap) is in
//! the image. It is linked, not
//! run: the network device, the clock and the RNG are stand-ins whose only
//! job is to keep the code reachable.
//!
//! ```sh
//! cargo rustc -p mfp-oauth-embassy --example footprint --target thumbv7em-none-eabihf \
//!   --profile firmware -- -C link-arg=-Tlink.x -C link-arg=-Lembassy/examples
//! ```
//!
//! On the host it is an empty program (so that `cargo test` builds it).

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod image {
    use core::hint::black_box;
    use core::task::{Context, Waker};
    use embassy_futures::select::{select, Either};
    use embassy_net::driver::{Capabilities, HardwareAddress, LinkState, RxToken, TxToken};
    use embassy_net::{Config, IpAddress, Ipv4Cidr, StackResources, StaticConfigV4};
    use mfp_oauth_core::limits::OAUTH_RESPONSE_BUF_LEN;
    use mfp_oauth_core::mailer::{Job, Mailer};
    use mfp_oauth_core::mime::{Attachment, Parts, RANDOM_LEN};
    use mfp_oauth_core::provider::AppRegistration;
    use mfp_oauth_core::{oauth, Address, Function, Settings, TokenStore};
    use mfp_oauth_embassy::{
        now, Board, Buffers, ComposedBody, Hosts, Ignore, LinkBuffers, Octets, Trust,
        MIN_OUT_BUF_LEN, TLS_READ_BUF_LEN, TLS_WRITE_BUF_LEN,
    };

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        loop {}
    }

    /// With `tls-rustls`, the heap rustls works in: a fixed region behind
    /// `embedded-alloc`'s first-fit allocator. 64 KiB: the high-water mark
    /// measured with two links open at once (a token refreshed in the
    /// middle of an SMTP session, TLS 1.2 with RSA-2048 chains) is
    /// 57,398 B on x86_64 (tests/rustls_link.rs, `heap_high_water`), where
    /// pointers are twice a Cortex-M's size.
    #[cfg(feature = "tls-rustls")]
    pub const HEAP_LEN: usize = 64 * 1024;

    #[cfg(feature = "tls-rustls")]
    #[global_allocator]
    static HEAP: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();

    #[cfg(feature = "tls-rustls")]
    static mut HEAP_MEM: [core::mem::MaybeUninit<u8>; HEAP_LEN] =
        [core::mem::MaybeUninit::uninit(); HEAP_LEN];

    /// Stand-in clock: a counter the optimiser cannot see through.
    struct Clock;

    impl embassy_time_driver::Driver for Clock {
        fn now(&self) -> u64 {
            black_box(0)
        }
        fn schedule_wake(&self, _at: u64, waker: &Waker) {
            waker.wake_by_ref();
        }
    }

    embassy_time_driver::time_driver_impl!(static CLOCK: Clock = Clock);

    /// Stand-in RNG for the image only: NOT random, never for a product.
    struct NotRandom(u64);

    impl rand_core::RngCore for NotRandom {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = black_box(self.0.wrapping_add(1));
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u64() as u8;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl rand_core::CryptoRng for NotRandom {}

    /// Stand-in network device: one frame buffer, frames only when the
    /// optimiser cannot tell.
    struct Nic([u8; 1514]);

    struct Frame<'a>(&'a mut [u8]);

    impl RxToken for Frame<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
            f(self.0)
        }
    }

    impl TxToken for Frame<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let n = len.min(self.0.len());
            let r = f(&mut self.0[..n]);
            black_box(&self.0);
            r
        }
    }

    impl embassy_net::driver::Driver for Nic {
        type RxToken<'a> = Frame<'a>;
        type TxToken<'a> = Frame<'a>;

        fn receive(&mut self, _: &mut Context<'_>) -> Option<(Frame<'_>, Frame<'_>)> {
            if black_box(false) {
                let (rx, tx) = self.0.split_at_mut(757);
                Some((Frame(rx), Frame(tx)))
            } else {
                None
            }
        }
        fn transmit(&mut self, _: &mut Context<'_>) -> Option<Frame<'_>> {
            Some(Frame(&mut self.0))
        }
        fn link_state(&mut self, _: &mut Context<'_>) -> LinkState {
            LinkState::Up
        }
        fn capabilities(&self) -> Capabilities {
            let mut c = Capabilities::default();
            c.max_transmission_unit = 1514;
            c
        }
        fn hardware_address(&self) -> HardwareAddress {
            HardwareAddress::Ethernet([2, 0, 0, 0, 0, 2])
        }
    }

    struct Memory {
        sockets: [[u8; 4096]; 4],
        tls_read: [[u8; TLS_READ_BUF_LEN]; 2],
        tls_write: [[u8; TLS_WRITE_BUF_LEN]; 2],
        out: [u8; MIN_OUT_BUF_LEN],
        input: [u8; 1024],
        response: [u8; OAUTH_RESPONSE_BUF_LEN],
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        // SAFETY: once, before any allocation; the region is used by the
        // allocator only.
        #[cfg(feature = "tls-rustls")]
        unsafe {
            HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_LEN)
        }
        let Some(mem) = cortex_m::singleton!(: Memory = Memory {
            sockets: [[0; 4096]; 4],
            tls_read: [[0; TLS_READ_BUF_LEN]; 2],
            tls_write: [[0; TLS_WRITE_BUF_LEN]; 2],
            out: [0; MIN_OUT_BUF_LEN],
            input: [0; 1024],
            response: [0; OAUTH_RESPONSE_BUF_LEN],
        }) else {
            loop {}
        };
        let mut resources = StackResources::<3>::new();
        let config = Config::ipv4_static(StaticConfigV4 {
            address: Ipv4Cidr::new(core::net::Ipv4Addr::new(192, 0, 2, 7), 24),
            gateway: None,
            dns_servers: Default::default(),
        });
        let (stack, mut runner) = embassy_net::new(Nic([0; 1514]), config, &mut resources, 7);
        let settings = Settings::default();
        let (Ok(provider), Ok(app)) = (
            settings.provider_profile(),
            AppRegistration::public("00000000-0000-0000-0000-000000000000"),
        ) else {
            loop {}
        };
        let mut oauth = oauth::Client::new(provider, app, &mut mem.response[..], 7);
        let mut mailer = Mailer::new(settings, TokenStore::new());
        let hosts = [("smtp.gmail.com", IpAddress::v4(192, 0, 2, 25))];
        let ca: &'static [u8] = black_box(&[0x30, 0x82]);
        let mut board = Board::new(
            stack,
            Trust { ca_der: ca },
            NotRandom(7),
            Hosts(&hosts),
            "[192.0.2.7]",
        );
        let [s0, s1, s2, s3] = &mut mem.sockets;
        let [r0, r1] = &mut mem.tls_read;
        let [w0, w1] = &mut mem.tls_write;
        let mut bufs = Buffers {
            smtp: LinkBuffers {
                socket_rx: s0,
                socket_tx: s1,
                tls_read: r0,
                tls_write: w0,
            },
            token: LinkBuffers {
                socket_rx: s2,
                socket_tx: s3,
                tls_read: r1,
                tls_write: w1,
            },
            out: &mut mem.out,
            input: &mut mem.input,
        };
        let Ok(to) = Address::parse("scan-inbox@example.com") else {
            loop {}
        };
        let to = [to];
        let job = async {
            let _ = oauth.start_device(now());
            let _ = board
                .drive_oauth(&mut oauth, &mut bufs, &mut |_, e| {
                    black_box(e);
                })
                .await;
            let spec = Job {
                function: Function::ScanToEmail,
                user: None,
                from: None,
                to: &to,
                size: None,
            };
            if let Ok(plan) = mailer.submit(now(), &spec) {
                // The message from the core's composer (R-MIME), with the
                // From the policy chose; the scan is a stand-in reader.
                let mut from = [0u8; 254];
                let from_len = mailer.job_from().map_or(0, |a| {
                    let a = a.as_str().as_bytes();
                    let n = a.len().min(from.len());
                    from[..n].copy_from_slice(&a[..n]);
                    n
                });
                let from = core::str::from_utf8(&from[..from_len]).unwrap_or("");
                let scan: &[u8] = black_box(b"%PDF-1.7 scan");
                let files = [Attachment {
                    name: "scan-0001.pdf",
                    content_type: "",
                    len: scan.len() as u64,
                }];
                let rcpt = ["scan-inbox@example.com"];
                let msg = Parts {
                    from,
                    to: &rcpt,
                    subject: "Scan",
                    text: None,
                    attachments: &files,
                    message_id_local: "",
                };
                let mut readers = [Octets::new(scan)];
                let random = black_box([7u8; RANDOM_LEN]);
                if let Ok(mut body) = ComposedBody::new(msg, None, &random, &mut readers) {
                    let _ = mailer.set_message_size(body.size());
                    let end = board
                        .run(
                            &mut mailer,
                            &mut oauth,
                            plan,
                            &mut body,
                            &mut bufs,
                            &mut Ignore,
                        )
                        .await;
                    black_box(end);
                }
            }
        };
        match embassy_futures::block_on(select(runner.run(), job)) {
            Either::First(never) => match never {},
            Either::Second(()) => loop {},
        }
    }
}
