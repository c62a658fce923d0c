use super::*;

/// An address of `len` octets: `local@contoso.com` with a long local part.
fn address(tag: usize, len: usize) -> std::string::String {
    let domain = "@contoso.com";
    let prefix = format!("u{tag}.");
    let fill = len - prefix.len() - domain.len();
    format!("{prefix}{}{domain}", "x".repeat(fill))
}

#[test]
fn recipients_come_back_in_order_as_added() {
    let mut r = Recipients::new();
    assert!(r.is_empty() && r.first().is_none() && r.get(0).is_none());
    for a in ["alice@contoso.com", "bob@fabrikam.com", "c@d"] {
        r.push(a).unwrap();
    }
    assert_eq!(r.len(), 3);
    assert_eq!(r.first(), Some("alice@contoso.com"));
    assert_eq!(r.get(1), Some("bob@fabrikam.com"));
    assert_eq!(r.get(2), Some("c@d"));
    assert_eq!(r.get(3), None);
    let all: std::vec::Vec<&str> = r.iter().collect();
    assert_eq!(all, ["alice@contoso.com", "bob@fabrikam.com", "c@d"]);
    assert_eq!(
        format!("{r:?}"),
        "[<alice@contoso.com>, <bob@fabrikam.com>, <c@d>]"
    );
    r.clear();
    assert!(r.is_empty() && r.iter().next().is_none());
    r.push("again@contoso.com").unwrap();
    assert_eq!(r.first(), Some("again@contoso.com"));
}

#[test]
fn a_refused_recipient_changes_nothing() {
    let mut r = Recipients::new();
    r.push("alice@contoso.com").unwrap();
    let before = r.clone();
    for bad in ["", "bob@contoso.com>\r\nDATA", "no-at-sign", "a b@c"] {
        assert_eq!(r.push(bad), Err(SubmitError::InvalidAddress), "{bad:?}");
        assert_eq!(r, before);
    }
    let too_long = address(0, crate::limits::MAX_ADDRESS_LEN + 1);
    assert_eq!(r.push(&too_long), Err(SubmitError::InvalidAddress));
    assert_eq!(r, before);
}

#[test]
fn at_most_sixteen_recipients() {
    let mut r = Recipients::new();
    for i in 0..MAX_RECIPIENTS {
        r.push(&format!("u{i}@contoso.com")).unwrap();
    }
    let before = r.clone();
    assert_eq!(r.push("one@too.many"), Err(SubmitError::TooManyRecipients));
    assert_eq!(r, before);
    assert_eq!(r.get(MAX_RECIPIENTS - 1), Some("u15@contoso.com"));
}

#[test]
fn the_addresses_fit_together_up_to_their_bound() {
    // Sixteen of the average length fill the text exactly.
    let average = MAX_RECIPIENTS_LEN / MAX_RECIPIENTS;
    let mut r = Recipients::new();
    for i in 0..MAX_RECIPIENTS {
        r.push(&address(i, average)).unwrap();
    }
    assert_eq!(r.iter().map(str::len).sum::<usize>(), MAX_RECIPIENTS_LEN);
    assert_eq!(r.get(7), Some(address(7, average).as_str()));
    // Longer ones: refused once the next would not fit, nothing changed.
    let longest = crate::limits::MAX_ADDRESS_LEN;
    let mut r = Recipients::new();
    let fit = MAX_RECIPIENTS_LEN / longest;
    for i in 0..fit {
        r.push(&address(i, longest)).unwrap();
    }
    let before = r.clone();
    assert_eq!(
        r.push(&address(fit, longest)),
        Err(SubmitError::RecipientsTooLong)
    );
    assert_eq!(r, before);
    // A short one still fits in what is left.
    r.push("x@y").unwrap();
    assert_eq!(r.len(), fit + 1);
    assert_eq!(r.get(fit), Some("x@y"));
    assert_eq!(r.get(fit - 1), Some(address(fit - 1, longest).as_str()));
}

#[test]
fn a_non_ascii_address_needs_smtputf8() {
    let mut r = Recipients::new();
    r.push("scan@contoso.com").unwrap();
    assert!(!r.need_smtputf8());
    r.push("jörg@example.de").unwrap();
    assert!(r.need_smtputf8());
    assert_eq!(r.get(1), Some("jörg@example.de"));
}
