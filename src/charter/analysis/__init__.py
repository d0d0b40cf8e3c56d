"""Analysis of policies: static lint findings now; property checks over generated traces next."""
