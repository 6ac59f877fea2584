struct rp_info *rp_info = pim_rp_find_match_group(pim, &group);
if (rp_info->rp.rpf_addr.family == AF_INET) rp_addr = rp_info_lookup_by_address_family(x);
static void rp_info_free_and_release_all_resources(struct rp_info *rp_info);
grp_abcdef0123456789abcdef0123456789 = lookup_group_hash();
