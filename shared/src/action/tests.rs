use super::*;

#[test]
fn arn_region_reads_the_fourth_field() {
    assert_eq!(
        arn_region("arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"),
        Some("eu-west-1")
    );
    assert_eq!(arn_region("arn:aws:iam::123456789012:role/x"), None);
    assert_eq!(arn_region("org-trail"), None);
}

#[test]
fn action_names_round_trip() {
    for k in ActionKind::ALL {
        assert_eq!(k.name().parse::<ActionKind>(), Ok(*k));
    }
    assert!("delete_everything".parse::<ActionKind>().is_err());
}
