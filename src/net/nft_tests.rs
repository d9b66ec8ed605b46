use super::*;

fn names_of_exprs(rule_payload: &[u8]) -> Vec<String> {
    let attrs = parse_attrs(&rule_payload[4..]);
    let (_, list) = attrs
        .iter()
        .find(|(k, _)| *k == NFTA_RULE_EXPRESSIONS)
        .expect("expressions")
        .clone();
    parse_attrs(&list)
        .into_iter()
        .map(|(_, elem)| {
            let (_, name) = parse_attrs(&elem)
                .into_iter()
                .find(|(k, _)| *k == NFTA_EXPR_NAME)
                .expect("name");
            String::from_utf8_lossy(&name[..name.len() - 1]).into_owned()
        })
        .collect()
}

#[test]
fn masquerade_batch_shape() {
    let subnet: Ipv4Net = "10.77.0.0/24".parse().expect("net");
    let b = masquerade_batch(100, "lxnest", subnet, "lxnbr0");
    let msgs = split_messages(&b.bytes);
    let kinds: Vec<u16> = msgs.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [0x10, 0x0a00, 0x0a03, 0x0a06, 0x11]);
    assert_eq!(
        msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [100, 101, 102, 103, 104]
    );
    assert_eq!(b.acked, [101, 102, 103]);
    // Batch begin names the nf_tables subsystem in big-endian res_id.
    assert_eq!(msgs[0].payload, [0, 0, 0, 10]);
    assert_eq!(table_name(&msgs[1].payload).as_deref(), Some("lxnest"));
    assert_eq!(
        names_of_exprs(&msgs[3].payload),
        ["payload", "bitwise", "cmp", "meta", "cmp", "masq"]
    );
    // The subnet's network address and the padded bridge name appear as compare data.
    let raw = &msgs[3].payload;
    assert!(raw.windows(4).any(|w| w == [10, 77, 0, 0]));
    assert!(raw.windows(4).any(|w| w == [255, 255, 255, 0]));
    let mut ifname = [0u8; 16];
    ifname[..6].copy_from_slice(b"lxnbr0");
    assert!(raw.windows(16).any(|w| w == ifname));
}

#[test]
fn attributes_are_padded_and_round_trip() {
    let mut a = Attrs::default();
    a.str(1, "abc").be32(2, 7).raw(3, &[1, 2, 3, 4, 5]);
    assert_eq!(a.0.len() % 4, 0);
    let parsed = parse_attrs(&a.0);
    assert_eq!(parsed[0], (1, b"abc\0".to_vec()));
    assert_eq!(parsed[1], (2, vec![0, 0, 0, 7]));
    assert_eq!(parsed[2], (3, vec![1, 2, 3, 4, 5]));
}

#[test]
fn delete_and_list_requests() {
    let b = delete_table_batch(5, "lxnest");
    let msgs = split_messages(&b.bytes);
    assert_eq!(
        msgs.iter().map(|m| m.kind).collect::<Vec<_>>(),
        [0x10, 0x0a02, 0x11]
    );
    assert_eq!(b.acked, [6]);
    let l = split_messages(&list_tables_request(9));
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].kind, 0x0a01);
}

#[test]
fn error_codes() {
    assert_eq!(error_code(&(-17i32).to_ne_bytes()), 17);
    assert_eq!(error_code(&0i32.to_ne_bytes()), 0);
}
