const options = { rp_id: 'example.com', rp_name: 'Example Corporation Ltd' };
verifyRegistration({ expected_rp_id_hash_for_this_origin: hash });
