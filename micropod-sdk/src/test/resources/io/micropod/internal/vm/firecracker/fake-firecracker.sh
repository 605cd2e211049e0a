#!/bin/sh
# STAND-IN for the real `firecracker` binary, which cannot run on MicroPod's build machines
# (no KVM). It boots nothing: it serves Firecracker's documented REST API on --api-sock
# (FakeFirecracker -> FirecrackerContractPeer, which checks every request), prints a line on
# stdout where the guest console would be, and exits on SendCtrlAltDel as Firecracker does when
# the guest reboots. Tests copy this template and fill in the @...@ values.
FAKE_FC_RECORD='@RECORD@'
FAKE_FC_FAIL='@FAIL@'
FAKE_FC_VERSION='@VERSION@'
FAKE_FC_AGENT='@AGENT@'
export FAKE_FC_RECORD FAKE_FC_FAIL FAKE_FC_VERSION FAKE_FC_AGENT
exec '@JAVA@' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '@CLASSPATH@' io.micropod.internal.vm.firecracker.FakeFirecracker "$@"
