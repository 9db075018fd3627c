package main

import "github.com/gatehouse-vpn/gatehouse/internal/testlog"

type syncBuffer = testlog.Buffer
