package ovf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// diskOut is one DiskSection entry as rendered.
type diskOut struct {
	id            string // vmdisk1
	fileID        string // file1, "" for an empty disk
	href          string
	fileSize      int64
	capacityBytes int64
	populated     int64
}

// guestCIM maps common vSphere guest ids to CIM operating system ids for
// OperatingSystemSection ovf:id. vSphere reads vmw:osType first; the CIM id
// only matters to other OVF consumers.
var guestCIM = map[string]int{
	"centos64Guest":        107,
	"centos6_64Guest":      107,
	"centos7_64Guest":      107,
	"centosGuest":          106,
	"rhel6_64Guest":        80,
	"rhel7_64Guest":        80,
	"rhel8_64Guest":        80,
	"rhel6Guest":           79,
	"ubuntu64Guest":        94,
	"ubuntuGuest":          93,
	"debian8_64Guest":      96,
	"otherLinux64Guest":    101,
	"otherLinuxGuest":      36,
	"other26xLinux64Guest": 101,
	"otherGuest64":         102,
	"otherGuest":           1,
}

const ovfHeader = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
`

// render writes the OVF 1.x descriptor of t (defaults applied) with the
// given disks. The output depends only on its arguments.
func render(t Template, disks []diskOut) []byte {
	var b bytes.Buffer
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, a...)
		b.WriteByte('\n')
	}
	b.WriteString(ovfHeader)

	w(1, "<References>")
	for _, d := range disks {
		if d.fileID != "" {
			w(2, `<File ovf:href="%s" ovf:id="%s" ovf:size="%d"/>`, attr(d.href), d.fileID, d.fileSize)
		}
	}
	w(1, "</References>")

	w(1, "<DiskSection>")
	w(2, "<Info>Virtual disk information</Info>")
	for _, d := range disks {
		capacity, units := strconv.FormatInt(d.capacityBytes, 10), "byte"
		if d.capacityBytes%(1<<20) == 0 {
			capacity, units = strconv.FormatInt(d.capacityBytes>>20, 10), "byte * 2^20"
		}
		fileRef := ""
		if d.fileID != "" {
			fileRef = fmt.Sprintf(` ovf:fileRef="%s"`, d.fileID)
		}
		w(2, `<Disk ovf:capacity="%s" ovf:capacityAllocationUnits="%s" ovf:diskId="%s"%s ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="%d"/>`,
			capacity, units, d.id, fileRef, d.populated)
	}
	w(1, "</DiskSection>")

	nets := make([]string, 0, len(t.NICs))
	for _, n := range t.NICs {
		nets = append(nets, n.Network)
	}
	slices.Sort(nets)
	nets = slices.Compact(nets)
	w(1, "<NetworkSection>")
	w(2, "<Info>The list of logical networks</Info>")
	for _, n := range nets {
		w(2, `<Network ovf:name="%s">`, attr(n))
		w(3, "<Description>The %s network</Description>", text(n))
		w(2, "</Network>")
	}
	w(1, "</NetworkSection>")

	w(1, `<VirtualSystem ovf:id="%s">`, attr(t.Name))
	w(2, "<Info>A virtual machine</Info>")
	w(2, "<Name>%s</Name>", text(t.Name))
	if t.Annotation != "" {
		w(2, "<AnnotationSection>")
		w(3, "<Info>A human-readable annotation</Info>")
		w(3, "<Annotation>%s</Annotation>", text(t.Annotation))
		w(2, "</AnnotationSection>")
	}
	cim, ok := guestCIM[t.GuestOS]
	if !ok {
		cim = 1 // Other
	}
	w(2, `<OperatingSystemSection ovf:id="%d" vmw:osType="%s">`, cim, attr(t.GuestOS))
	w(3, "<Info>The kind of installed guest operating system</Info>")
	w(2, "</OperatingSystemSection>")

	w(2, "<VirtualHardwareSection>")
	w(3, "<Info>Virtual hardware requirements</Info>")
	w(3, "<System>")
	w(4, "<vssd:ElementName>Virtual Hardware Family</vssd:ElementName>")
	w(4, "<vssd:InstanceID>0</vssd:InstanceID>")
	w(4, "<vssd:VirtualSystemIdentifier>%s</vssd:VirtualSystemIdentifier>", text(t.Name))
	w(4, "<vssd:VirtualSystemType>%s</vssd:VirtualSystemType>", text(t.HardwareVersion))
	w(3, "</System>")
	item := func(lines ...string) {
		w(3, "<Item>")
		for _, l := range lines {
			w(4, "%s", l)
		}
		w(3, "</Item>")
	}
	// rasd elements are in alphabetical order, as the CIM schema sequence wants.
	item("<rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>",
		"<rasd:Description>Number of Virtual CPUs</rasd:Description>",
		fmt.Sprintf("<rasd:ElementName>%d virtual CPU(s)</rasd:ElementName>", t.CPUs),
		"<rasd:InstanceID>1</rasd:InstanceID>",
		"<rasd:ResourceType>3</rasd:ResourceType>",
		fmt.Sprintf("<rasd:VirtualQuantity>%d</rasd:VirtualQuantity>", t.CPUs))
	item("<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>",
		"<rasd:Description>Memory Size</rasd:Description>",
		fmt.Sprintf("<rasd:ElementName>%dMB of memory</rasd:ElementName>", t.MemoryMB),
		"<rasd:InstanceID>2</rasd:InstanceID>",
		"<rasd:ResourceType>4</rasd:ResourceType>",
		fmt.Sprintf("<rasd:VirtualQuantity>%d</rasd:VirtualQuantity>", t.MemoryMB))
	item("<rasd:Address>0</rasd:Address>",
		"<rasd:Description>SCSI Controller</rasd:Description>",
		"<rasd:ElementName>SCSI controller 0</rasd:ElementName>",
		"<rasd:InstanceID>3</rasd:InstanceID>",
		"<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>",
		"<rasd:ResourceType>6</rasd:ResourceType>")
	id := 4
	for i, d := range disks {
		unit := i
		if unit >= 7 {
			unit++ // unit 7 is the controller itself
		}
		item(fmt.Sprintf("<rasd:AddressOnParent>%d</rasd:AddressOnParent>", unit),
			fmt.Sprintf("<rasd:ElementName>Hard disk %d</rasd:ElementName>", i+1),
			fmt.Sprintf("<rasd:HostResource>ovf:/disk/%s</rasd:HostResource>", d.id),
			fmt.Sprintf("<rasd:InstanceID>%d</rasd:InstanceID>", id),
			"<rasd:Parent>3</rasd:Parent>",
			"<rasd:ResourceType>17</rasd:ResourceType>")
		id++
	}
	for i, n := range t.NICs {
		item(fmt.Sprintf("<rasd:AddressOnParent>%d</rasd:AddressOnParent>", 7+i),
			"<rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>",
			fmt.Sprintf("<rasd:Connection>%s</rasd:Connection>", text(n.Network)),
			fmt.Sprintf("<rasd:Description>%s ethernet adapter on &quot;%s&quot;</rasd:Description>", n.Adapter, text(n.Network)),
			fmt.Sprintf("<rasd:ElementName>Network adapter %d</rasd:ElementName>", i+1),
			fmt.Sprintf("<rasd:InstanceID>%d</rasd:InstanceID>", id),
			fmt.Sprintf("<rasd:ResourceSubType>%s</rasd:ResourceSubType>", n.Adapter),
			"<rasd:ResourceType>10</rasd:ResourceType>")
		id++
	}
	w(3, `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="%s"/>`, attr(t.Firmware))
	w(2, "</VirtualHardwareSection>")

	for _, class := range productClasses(t) {
		if class == "" {
			w(2, "<ProductSection>")
		} else {
			w(2, `<ProductSection ovf:class="%s">`, attr(class))
		}
		w(3, "<Info>Information about the installed software</Info>")
		if class == "" {
			if t.Product != "" {
				w(3, "<Product>%s</Product>", text(t.Product))
			}
			if t.Vendor != "" {
				w(3, "<Vendor>%s</Vendor>", text(t.Vendor))
			}
			if t.Version != "" {
				w(3, "<Version>%s</Version>", text(t.Version))
			}
		}
		for _, p := range t.Properties {
			if p.Class != class {
				continue
			}
			var a strings.Builder
			fmt.Fprintf(&a, `ovf:key="%s" ovf:type="%s"`, attr(p.Key), p.Type)
			if p.Password {
				a.WriteString(` ovf:password="true"`)
			}
			fmt.Fprintf(&a, ` ovf:userConfigurable="%t" ovf:value="%s"`, p.UserConfigurable, attr(p.Default))
			if p.Label == "" && p.Description == "" {
				w(3, "<Property %s/>", a.String())
				continue
			}
			w(3, "<Property %s>", a.String())
			if p.Label != "" {
				w(4, "<Label>%s</Label>", text(p.Label))
			}
			if p.Description != "" {
				w(4, "<Description>%s</Description>", text(p.Description))
			}
			w(3, "</Property>")
		}
		w(2, "</ProductSection>")
	}
	w(1, "</VirtualSystem>")
	b.WriteString("</Envelope>\n")
	return b.Bytes()
}

// productClasses lists the ProductSections to write: the unclassed one when
// there is product information or an unclassed property, then one per class,
// sorted.
func productClasses(t Template) []string {
	var classes []string
	if t.Product != "" || t.Vendor != "" || t.Version != "" {
		classes = append(classes, "")
	}
	for _, p := range t.Properties {
		classes = append(classes, p.Class)
	}
	slices.Sort(classes)
	return slices.Compact(classes)
}

func text(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// attr escapes s for a double-quoted attribute value.
func attr(s string) string { return text(s) }
